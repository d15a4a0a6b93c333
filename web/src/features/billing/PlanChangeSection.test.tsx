/**
 * The plan-change workflow against a stubbed `fetch` (BFF and fake Stripe): an upgrade whose payment
 * needs 3-D Secure is authenticated in its own step, then the subscription is asked again until the
 * change has arrived; a failed challenge keeps the old plan.
 */
import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import * as f from "./fixtures";
import { PlanChangeSection } from "./PlanChangeSection";
import { challenge, CLIENT_SECRET, json, readBackAfterChallenge, renderSection, stubFetch, testConfig } from "./section-testing";

/** The API's and the fake's side of one upgrade whose payment needs authentication. */
function stubUpgradeNeedingAuthentication({ passes }: { passes: boolean }) {
  let state: "starter" | "waiting" | "pro" = "starter";
  return stubFetch((request) => {
    switch (request) {
      case "GET /api/billing/subscription":
        return json(200, state === "pro" ? { ...f.activeSubscription, plan: "pro_monthly" } : state === "waiting" ? f.subscriptionWithPendingPayment : f.activeSubscription);
      case "GET /api/billing/plans":
        return json(200, { plans: f.plans });
      case "POST /api/billing/invoice-preview":
        return json(200, f.prorationPreview);
      case "POST /api/billing/subscription/plan-change":
        state = "waiting";
        return json(200, { ...f.subscriptionWithPendingPayment, requires_action: true, client_secret: CLIENT_SECRET });
      case challenge.answer:
        // Stripe pays the invoice, applies the change, and the webhooks bring it to the API.
        if (passes) state = "pro";
        return new Response(null, { status: 204 });
      case challenge.readBack:
        return readBackAfterChallenge(passes);
      default:
        return undefined;
    }
  });
}

async function upgradeToProNow() {
  renderSection(<PlanChangeSection canManage config={testConfig} />);
  fireEvent.click(await screen.findByLabelText("Pro — $30.00 per month"));
  fireEvent.click(await screen.findByRole("button", { name: "Change plan and pay $13.55 now" }));
  return screen.findByRole("group", { name: "Authenticate the payment" });
}

afterEach(() => vi.unstubAllGlobals());

describe("PlanChangeSection: an upgrade that needs authentication", () => {
  it("authenticates, waits for the change to arrive, then says the plan changed", async () => {
    const asked = stubUpgradeNeedingAuthentication({ passes: true });
    const step = await upgradeToProNow();

    fireEvent.click(within(step).getByRole("button", { name: "Complete authentication" }));

    expect(await screen.findByText("Plan changed to Pro — $30.00 per month. $13.55 was invoiced today.", {}, { timeout: 5_000 })).toBeTruthy();
    expect(asked).toContain(challenge.answer);
    expect(asked.lastIndexOf("GET /api/billing/subscription")).toBeGreaterThan(asked.indexOf(challenge.readBack));
    expect(screen.queryByRole("group", { name: "Authenticate the payment" })).toBeNull();
  });

  it("says a failed authentication kept the old plan, with the change waiting for its invoice", async () => {
    stubUpgradeNeedingAuthentication({ passes: false });
    const step = await upgradeToProNow();

    fireEvent.click(within(step).getByRole("button", { name: "Fail authentication" }));

    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("Authentication failed; your plan did not change.");
    await waitFor(() => expect(alert.textContent).toContain("in_1Upgrade"));
    expect(screen.getByTestId("plan-kept").textContent).toBe("Starter — $10.00 per month");
  });
});
