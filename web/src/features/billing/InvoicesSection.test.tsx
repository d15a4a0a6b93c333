/**
 * "Pay now" against a stubbed `fetch` (the BFF): a paid invoice refreshes the table and says so, a
 * paid plan-change invoice waits for the change to arrive, a declined card is an alert with focus.
 */
import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Subscription } from "@/api/types";
import * as f from "./fixtures";
import { InvoicesSection } from "./InvoicesSection";
import { declined, json, renderSection, stubFetch, testConfig } from "./section-testing";

const PAY = "POST /api/billing/invoices/in_1Upgrade/pay";
const LIST = "GET /api/billing/invoices?limit=10";
const paidInvoice = { ...f.openInvoice, status: "paid", amount_paid: 1355, amount_remaining: 0 };

/** The BFF's side: the invoice list (open until paid), the subscription, and the payment's answer. */
function stubBff({ pay, subscription }: { pay: () => Response; subscription: () => Subscription }) {
  let paid = false;
  return stubFetch((request) => {
    switch (request) {
      case LIST:
        return json(200, { invoices: paid ? [paidInvoice, f.voidInvoice, f.paidInvoice] : f.invoices, has_more: false, next_cursor: null });
      case "GET /api/billing/subscription":
        return json(200, subscription());
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

async function payTheOpenInvoice() {
  const client = renderSection(<InvoicesSection canManage config={testConfig} />);
  await screen.findByText("DEMO-0003");
  // The section knows the subscription before paying (which change an invoice pays for).
  await waitFor(() => expect(client.getQueryData(["billing", "subscription"])).toBeDefined());
  fireEvent.click(screen.getByRole("button", { name: "Pay now for invoice DEMO-0003, $13.55" }));
}

const count = (asked: string[], request: string) => asked.filter((r) => r === request).length;

afterEach(() => vi.unstubAllGlobals());

describe("InvoicesSection: Pay now", () => {
  it("pays, refreshes the table and says the invoice was paid", async () => {
    const asked = stubBff({
      pay: () => json(200, { invoice: paidInvoice, requires_action: false, client_secret: null }),
      subscription: () => f.pastDueSubscription,
    });
    await payTheOpenInvoice();

    expect((await screen.findByTestId("invoice-paid")).textContent).toBe("Invoice DEMO-0003 paid.");
    await waitFor(() => expect(screen.getAllByTestId("invoice")[0]!.getAttribute("data-status")).toBe("paid"));
    expect(count(asked, LIST)).toBeGreaterThan(1);
    expect(screen.queryByRole("button", { name: /^Pay now/ })).toBeNull();
  });

  it("paying a plan change's invoice waits until the change has arrived", async () => {
    let webhooksArrived = false;
    const asked = stubBff({
      pay: () => json(200, { invoice: paidInvoice, requires_action: false, client_secret: null }),
      // The webhooks are late: the change shows only after a few looks past the payment.
      subscription: () => {
        if (asked.includes(PAY) && count(asked, "GET /api/billing/subscription") > 3) webhooksArrived = true;
        return webhooksArrived ? { ...f.activeSubscription, plan: "pro_monthly" } : f.subscriptionWithPendingPayment;
      },
    });
    await payTheOpenInvoice();

    expect((await screen.findByTestId("invoice-paid", {}, { timeout: 5_000 })).textContent).toBe("Invoice DEMO-0003 paid.");
    expect(webhooksArrived).toBe(true);
  });

  it("a declined card: an alert with the reason and what to do, focused; the table is refreshed", async () => {
    const asked = stubBff({
      pay: declined,
      subscription: () => f.pastDueSubscription,
    });
    await payTheOpenInvoice();

    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("Your card was declined; invoice DEMO-0003 was not paid.");
    expect(alert.textContent).toContain("The bank declined the payment without giving a reason.");
    expect(within(alert).getByRole("link", { name: "Payment methods" }).getAttribute("href")).toBe("#payment-methods-title");
    expect(document.activeElement).toBe(alert);
    await waitFor(() => expect(count(asked, LIST)).toBe(2));
    expect(screen.getByRole("button", { name: /^Pay now/ })).toBeTruthy();
  });
});
