/**
 * "Pay now" for the subscription's open invoice against a stubbed `fetch` (the BFF): from the
 * past-due banner, and from the offer a new default card's answer brings. A payment refreshes the
 * subscription, so the banner and the offer go once it is paid; a declined card changes nothing.
 */
import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import * as f from "./fixtures";
import { PaymentMethodsSection } from "./PaymentMethodsSection";
import { declined, json, renderSection, stubFetch, testConfig } from "./section-testing";
import { SubscriptionSection } from "./SubscriptionSection";

const PAY = "POST /api/billing/invoices/in_1Renewal/pay";
const SUBSCRIPTION = "GET /api/billing/subscription";
const paidRenewal = { ...f.paidInvoice, id: "in_1Renewal", number: "DEMO-0004" };

/** The BFF's side: past due until the renewal is paid, then active; `pay` answers the payment. */
function stubBff(pay: () => Response) {
  let paid = false;
  return stubFetch((request) => {
    switch (request) {
      case SUBSCRIPTION:
        return json(200, paid ? f.activeSubscription : f.pastDueSubscription);
      case "GET /api/billing/plans":
        return json(200, { plans: f.plans });
      case "GET /api/billing/payment-methods":
        return json(200, { payment_methods: f.paymentMethods });
      case "PUT /api/billing/payment-methods/default":
        return json(200, { default_payment_method: "pm_1Master", open_invoice: f.failedRenewal });
      case PAY: {
        const answer = pay();
        paid = answer.ok;
        return answer;
      }
      default:
        return undefined;
    }
  });
}

const pays = () => json(200, { invoice: paidRenewal, requires_action: false, client_secret: null });
const count = (asked: string[], request: string) => asked.filter((r) => r === request).length;

afterEach(() => vi.unstubAllGlobals());

describe("the past-due banner's Pay now", () => {
  it("pays the open invoice; the refreshed subscription is active, the banner gone, the payment said", async () => {
    const asked = stubBff(pays);
    renderSection(<SubscriptionSection canManage config={testConfig} />);
    fireEvent.click(await screen.findByRole("button", { name: "Pay now for invoice in_1Renewal, $10.00" }));

    expect((await screen.findByTestId("invoice-paid")).textContent).toBe("Invoice in_1Renewal paid.");
    await waitFor(() => expect(screen.queryByTestId("payment-problem")).toBeNull());
    expect(count(asked, SUBSCRIPTION)).toBe(2);
  });
});

describe("the offer after a new default card", () => {
  async function makeMastercardTheDefault() {
    renderSection(<PaymentMethodsSection canManage config={testConfig} />);
    fireEvent.click(await screen.findByRole("button", { name: "Make Mastercard ending in 4444 the default" }));
    return screen.findByTestId("open-invoice-offer");
  }

  it("offers the unpaid invoice with the new card, never paying by itself; paid, the offer goes", async () => {
    const asked = stubBff(pays);
    const offer = await makeMastercardTheDefault();
    expect(offer.getAttribute("role")).toBe("status");
    expect(offer.textContent).toContain("Your subscription has an unpaid invoice of $10.00. Pay it now with Mastercard •••• 4444?");
    expect(asked).not.toContain(PAY);

    fireEvent.click(within(offer).getByRole("button", { name: "Pay now for invoice in_1Renewal, $10.00" }));
    expect((await screen.findByTestId("invoice-paid")).textContent).toBe("Invoice in_1Renewal paid.");
    await waitFor(() => expect(screen.queryByTestId("open-invoice-offer")).toBeNull());
  });

  it("a declined card: an alert that nothing changed, focused; the offer stays", async () => {
    stubBff(declined);
    const offer = await makeMastercardTheDefault();
    fireEvent.click(within(offer).getByRole("button", { name: /^Pay now/ }));

    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("Your card was declined; invoice in_1Renewal was not paid. The bank declined the payment without giving a reason.");
    expect(alert.textContent).toContain("Nothing was charged and the subscription did not change.");
    expect(document.activeElement).toBe(alert);
    expect(screen.getByTestId("open-invoice-offer")).toBeTruthy();
  });
});
