/**
 * Starting a subscription against a stubbed `fetch` (BFF and fake Stripe) when the first payment does
 * not simply go through: the bank asks for 3-D Secure (authenticated in its own step, then the
 * subscription is asked again until Stripe made it active), the challenge is failed (it waits for
 * payment, `incomplete`, and its open invoice is paid from the banner), or the card is declined (402).
 */
import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import * as f from "./fixtures";
import { challenge, CLIENT_SECRET, declined, json, readBackAfterChallenge, renderSection, stubFetch, testConfig } from "./section-testing";
import { SubscriptionSection } from "./SubscriptionSection";

const START = "POST /api/billing/subscription";
const SUBSCRIPTION = "GET /api/billing/subscription";
const PAY = "POST /api/billing/invoices/in_1Start/pay";
const STEP = "Authenticate the first payment";
const noSubscription = () =>
  json(404, { error: { code: "subscription_not_found", message: "no subscription", request_id: "req_404" } });
const needsAuthentication = () => json(201, { subscription: f.incompleteSubscription, requires_payment: true, client_secret: CLIENT_SECRET });

/**
 * The API's and the fake's side: no subscription until the start, `incomplete` until its first
 * invoice is paid (the challenge passed, or "Pay now"), then active. `start` answers the start.
 */
function stubStart({ start, passes = false }: { start: () => Response; passes?: boolean }) {
  let state: "none" | "incomplete" | "active" = "none";
  return stubFetch((request) => {
    switch (request) {
      case SUBSCRIPTION:
        return state === "none" ? noSubscription() : json(200, state === "active" ? f.activeSubscription : f.incompleteSubscription);
      case "GET /api/billing/plans":
        return json(200, { plans: f.plans });
      case "GET /api/billing/payment-methods":
        return json(200, { payment_methods: f.paymentMethods });
      case START:
        state = "incomplete";
        return start();
      case challenge.answer:
        // Stripe pays the first invoice and the subscription turns active.
        if (passes) state = "active";
        return new Response(null, { status: 204 });
      case challenge.readBack:
        return readBackAfterChallenge(passes);
      case PAY:
        state = "active";
        return json(200, { invoice: { ...f.paidInvoice, id: "in_1Start" }, requires_action: false, client_secret: null });
      default:
        return undefined;
    }
  });
}

async function startStarter() {
  renderSection(<SubscriptionSection canManage config={testConfig} />);
  fireEvent.click(await screen.findByLabelText("Starter — $10.00 per month"));
  await waitFor(() => expect((screen.getByRole("button", { name: "Start subscription" }) as HTMLButtonElement).disabled).toBe(false));
  fireEvent.click(screen.getByRole("button", { name: "Start subscription" }));
}

afterEach(() => vi.unstubAllGlobals());

describe("SubscriptionSection: a start whose first payment needs authentication", () => {
  it("authenticates, waits for Stripe to make it active, then says it started", async () => {
    const asked = stubStart({ start: needsAuthentication, passes: true });
    await startStarter();
    const step = await screen.findByRole("group", { name: STEP });
    expect(step.textContent).toContain("the first payment of $10.00 for Starter — $10.00 per month");
    expect(document.activeElement).toBe(within(step).getByRole("heading", { name: STEP }));

    fireEvent.click(within(step).getByRole("button", { name: "Complete authentication" }));

    expect((await screen.findByTestId("subscription-started")).textContent).toBe("Subscription started: you are on Starter — $10.00 per month.");
    expect(screen.getByText("Active", { exact: true })).toBeTruthy();
    expect(screen.queryByRole("group", { name: STEP })).toBeNull();
    expect(screen.queryByTestId("payment-problem")).toBeNull();
    expect(asked.lastIndexOf(SUBSCRIPTION)).toBeGreaterThan(asked.indexOf(challenge.readBack));
  });

  it("a failed challenge: says it waits for payment; Pay now pays the open invoice and it is active", async () => {
    const asked = stubStart({ start: needsAuthentication, passes: false });
    await startStarter();
    fireEvent.click(within(await screen.findByRole("group", { name: STEP })).getByRole("button", { name: "Fail authentication" }));

    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("Authentication failed; the first payment was not completed.");
    expect(alert.textContent).toContain("The Starter — $10.00 per month subscription waits for payment (incomplete)");
    expect(document.activeElement).toBe(alert);
    expect(screen.getByText("Payment required", { exact: true })).toBeTruthy();
    expect(asked).not.toContain(PAY);

    fireEvent.click(within(screen.getByTestId("payment-problem")).getByRole("button", { name: "Pay now for invoice in_1Start, $10.00" }));

    expect((await screen.findByTestId("invoice-paid")).textContent).toBe("Invoice in_1Start paid.");
    await waitFor(() => expect(screen.queryByTestId("payment-problem")).toBeNull());
    expect(screen.queryByTestId("first-payment-refused")).toBeNull();
    expect(screen.getByText("Active", { exact: true })).toBeTruthy();
  });
});

describe("SubscriptionSection: a start whose first payment is declined (402)", () => {
  it("says the card was declined and the subscription waits for payment, with its open invoice's Pay now", async () => {
    stubStart({ start: declined });
    await startStarter();

    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("Your card was declined; the first payment was not made. The bank declined the payment without giving a reason.");
    expect(alert.textContent).toContain("waits for payment (incomplete)");
    expect(alert.getAttribute("data-error-code")).toBe("payment_failed");
    expect(document.activeElement).toBe(alert);
    const banner = screen.getByTestId("payment-problem");
    expect(banner.textContent).toContain("The first payment of $10.00 is not complete");
    expect(within(banner).getByRole("button", { name: "Pay now for invoice in_1Start, $10.00" })).toBeTruthy();
  });
});
