/**
 * Renders every story of every billing surface (composeStories) and checks what each state must
 * show: loading / error / empty states, viewers without any enabled mutating control, prorations.
 */
import { composeStories } from "@storybook/react-vite";
import { cleanup, render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import * as billingPage from "./BillingPage.stories";
import * as invoices from "./InvoicesPanel.stories";
import * as manageBilling from "./ManageBillingPanel.stories";
import * as paymentMethods from "./PaymentMethodsPanel.stories";
import * as planChange from "./PlanChangePanel.stories";
import * as subscription from "./SubscriptionPanel.stories";
import * as upcomingInvoice from "./UpcomingInvoicePanel.stories";

const modules = { billingPage, invoices, manageBilling, paymentMethods, planChange, subscription, upcomingInvoice };
const REQUIRED_STATES = ["Loading", "Error", "Empty", "Admin", "Viewer"];

/** Buttons and form fields that would change billing (enabled ones), outside "Try again". */
function enabledMutatingControls(container: HTMLElement) {
  return Array.from(container.querySelectorAll("button, input, select")).filter(
    (el) => !(el as HTMLButtonElement).disabled && el.textContent !== "Try again",
  );
}

describe.each(Object.entries(modules))("%s stories", (name, module) => {
  const stories = Object.entries(composeStories(module));

  if (name !== "billingPage") {
    it("has a story for every state", () => {
      const names = stories.map(([story]) => story);
      for (const state of REQUIRED_STATES) expect(names).toContain(state);
    });
  }

  it.each(stories)("%s renders", (_story, Story) => {
    const { container } = render(<Story />);
    expect(container.querySelector("section, main")).not.toBeNull();
  });

  it.each(stories.filter(([story]) => story.startsWith("Viewer")))("%s offers no mutating control", (_story, Story) => {
    const { container } = render(<Story />);
    expect(enabledMutatingControls(container)).toEqual([]);
  });

  it.each(stories.filter(([story]) => story === "Loading"))("%s announces loading", (_story, Story) => {
    render(<Story />);
    expect(screen.getAllByRole("status").length).toBeGreaterThan(0);
  });

  it.each(stories.filter(([story]) => story === "Error"))("%s shows an alert with the error code", (_story, Story) => {
    render(<Story />);
    expect(within(screen.getByRole("alert")).getByText("stripe_unavailable")).toBeTruthy();
  });
});

describe("specific states", () => {
  it("marks proration lines and shows the amount due today", () => {
    const { WithProrationPreview } = composeStories(planChange);
    render(<WithProrationPreview />);
    expect(screen.getAllByText("Proration")).toHaveLength(2);
    expect(screen.getByTestId("amount-due-today").textContent).toBe("$13.55");
    expect(screen.getByRole("button", { name: "Change plan and pay $13.55 now" })).toBeTruthy();
  });

  it("shows a pending period-end change with a way to cancel it", () => {
    const { WithPendingPeriodEndChange } = composeStories(planChange);
    render(<WithPendingPeriodEndChange />);
    expect(screen.getByTestId("scheduled-change").textContent).toContain("Feb 1, 2026");
    expect(screen.getByRole("button", { name: "Cancel scheduled change" })).toBeTruthy();
  });

  it("explains why the only card cannot be removed", () => {
    const { OnlyCardCannotBeRemoved } = composeStories(paymentMethods);
    render(<OnlyCardCannotBeRemoved />);
    expect(screen.getByRole("alert").textContent).toContain("Add another card first");
  });

  it("formats zero-decimal currencies from minor units", () => {
    const { ZeroDecimalCurrency } = composeStories(upcomingInvoice);
    render(<ZeroDecimalCurrency />);
    expect(screen.getByTestId("invoice-total").textContent).toBe("¥1,500");
  });

  it("shows 'cancels on' with a resume control", () => {
    const { CancelsAtPeriodEnd } = composeStories(subscription);
    render(<CancelsAtPeriodEnd />);
    expect(screen.getByText("Cancels on")).toBeTruthy();
    expect(screen.getByRole("button", { name: "Resume subscription" })).toBeTruthy();
  });

  it.each(["Trialing", "PastDue"] as const)("a %s subscription can be changed, cancelled and shows its next invoice", (name) => {
    const Story = composeStories(billingPage)[name];
    render(<Story />);
    expect(screen.getByRole("button", { name: "Cancel subscription…" })).toBeTruthy();
    expect(screen.getByRole("form", { name: "Change plan" })).toBeTruthy();
    expect(screen.getByTestId("next-payment-date").textContent).toBe("Feb 1, 2026");
  });

  it("offers an incomplete subscription no plan change, cancellation or upcoming invoice", () => {
    const { Incomplete } = composeStories(billingPage);
    render(<Incomplete />);
    expect(screen.getByTestId("payment-problem").textContent).toContain("The first payment of $10.00 is not complete");
    expect(screen.queryByRole("button", { name: "Cancel subscription…" })).toBeNull();
    expect(screen.getByText("Start a subscription to change plans.")).toBeTruthy();
    expect(screen.getByText("The first invoice is waiting for payment.")).toBeTruthy();
  });

  it("offers a cancelling subscription a resume, and no upcoming invoice", () => {
    const { CancelsAtPeriodEnd } = composeStories(billingPage);
    render(<CancelsAtPeriodEnd />);
    expect(screen.getByRole("button", { name: "Resume subscription" })).toBeTruthy();
    expect(screen.getByText("The subscription cancels on Feb 1, 2026. Resume it to change plans.")).toBeTruthy();
    expect(screen.getByText("The subscription cancels on Feb 1, 2026; no further invoices.")).toBeTruthy();
  });

  it("says a declined upgrade kept the old plan, why, and what to do before the change lapses", () => {
    const { DeclinedUpgrade } = composeStories(planChange);
    render(<DeclinedUpgrade />);
    const alert = screen.getByRole("alert");
    expect(alert.textContent).toContain("Your card was declined, so the plan did not change.");
    expect(alert.textContent).toContain("The card does not have enough funds.");
    expect(screen.getByTestId("plan-kept").textContent).toBe("Starter — $10.00 per month");
    expect(alert.textContent).toContain("in_1Upgrade");
    expect(alert.textContent).toContain("Jan 1, 2026, 11:00 PM UTC");
    expect(within(alert).getByRole("link", { name: "Payment methods" }).getAttribute("href")).toBe("#payment-methods-title");
    expect(document.activeElement).toBe(alert);
  });

  it("reads an unknown decline as a generic one", () => {
    const { DeclinedWithoutPendingPayment } = composeStories(planChange);
    render(<DeclinedWithoutPendingPayment />);
    expect(screen.getByRole("alert").textContent).toContain("The bank declined the payment.");
    expect(screen.getByRole("alert").textContent).toContain("then change the plan again");
  });

  it("asks for authentication in its own step, with focus on it and no plan form", () => {
    const { AuthenticationRequired } = composeStories(planChange);
    render(<AuthenticationRequired />);
    const step = screen.getByRole("group", { name: "Authenticate the payment" });
    expect(step.textContent).toContain("$13.55");
    expect(document.activeElement).toBe(within(step).getByRole("heading"));
    expect(within(step).getByRole("button", { name: "Complete authentication" })).toBeTruthy();
    expect(screen.queryByRole("form", { name: "Change plan" })).toBeNull();
  });

  it("says a failed authentication kept the old plan", () => {
    const { AuthenticationFailed } = composeStories(planChange);
    render(<AuthenticationFailed />);
    expect(screen.getByRole("alert").textContent).toContain("Authentication failed; your plan did not change.");
    expect(screen.getByTestId("plan-kept").textContent).toBe("Starter — $10.00 per month");
  });

  it("explains that a change already waits for payment (409 payment_pending)", () => {
    const { PaymentPending } = composeStories(planChange);
    render(<PaymentPending />);
    expect(screen.getByRole("alert").textContent).toContain("already waiting for payment of its invoice");
  });

  it("announces a change waiting for payment on the subscription", () => {
    const { PendingPayment } = composeStories(subscription);
    render(<PendingPayment />);
    expect(screen.getByRole("status").textContent).toBe(
      "Change to Pro — $30.00 per month waits for payment of invoice in_1Upgrade until Jan 1, 2026, 11:00 PM UTC. Pay it under Invoices.",
    );
    expect(within(screen.getByRole("status")).getByRole("link", { name: "Invoices" }).getAttribute("href")).toBe("#invoices-title");
  });

  it.each([
    ["PastDue", "The renewal payment of $10.00 failed. Stripe will retry on Jan 4, 2026.", "make it the default, then pay now.", "You keep access until Jan 8, 2026."],
    [
      "PastDueNoMoreRetries",
      "The renewal payment of $10.00 failed. Stripe makes no more automatic attempts: the invoice stays open until it is paid.",
      "make it the default, then pay now.",
      "Access is paused until the invoice is paid.",
    ],
    ["Unpaid", "The renewal payment of $10.00 failed and Stripe stopped retrying", "make it the default, then pay now.", "Access is paused"],
    [
      "IncompleteWithOpenInvoice",
      "The first payment of $10.00 is not complete, so the subscription is not active yet. Unless it is paid within 23 hours of the start, Stripe ends the subscription.",
      "To complete it, pay now; your bank may ask you to confirm the payment. If the card was declined, first add or choose another card",
      "Access is paused",
    ],
    ["ViewerPastDue", "The renewal payment of $10.00 failed.", "Ask an owner or admin", "You keep access until Jan 8, 2026."],
  ] as const)("%s: says what happened to the payment, the access decision and what to do", (name, happened, todo, access) => {
    const Story = composeStories(subscription)[name];
    render(<Story />);
    const banner = screen.getByTestId("payment-problem");
    expect(banner.textContent).toContain(happened);
    expect(banner.textContent).toContain(todo);
    expect(screen.getByTestId("access-decision").textContent).toContain(access);
    expect(within(banner).getByRole("link", { name: /^View invoice in_\w+ \(opens in a new tab\)$/ }).getAttribute("target")).toBe("_blank");
  });

  it("asks for the first payment's authentication in its own step, focused, in place of the banner", () => {
    const { StartAwaitingAuthentication } = composeStories(subscription);
    render(<StartAwaitingAuthentication />);
    const step = screen.getByRole("group", { name: "Authenticate the first payment" });
    expect(step.textContent).toContain("Your bank asks you to confirm the first payment of $10.00 for Starter — $10.00 per month.");
    expect(document.activeElement).toBe(within(step).getByRole("heading"));
    expect(within(step).getByRole("button", { name: "Complete authentication" })).toBeTruthy();
    expect(screen.queryByTestId("payment-problem")).toBeNull();
    expect(screen.queryByRole("button", { name: /^Pay now/ })).toBeNull();
  });

  it.each([
    ["StartAuthenticationFailed", "Authentication failed; the first payment was not completed.", "To try again, use “Pay now” below"],
    [
      "StartDeclined",
      "Your card was declined; the first payment was not made. The card does not have enough funds.",
      "Choose another default card under Payment methods, then pay the invoice",
    ],
  ] as const)("%s: says the subscription waits for payment and what to do, focused, with the open invoice's Pay now", (name, title, todo) => {
    const Story = composeStories(subscription)[name];
    render(<Story />);
    const alert = screen.getByRole("alert");
    expect(alert.textContent).toContain(title);
    expect(alert.textContent).toContain("The Starter — $10.00 per month subscription waits for payment (incomplete)");
    expect(alert.textContent).toContain(todo);
    expect(document.activeElement).toBe(alert);
    const banner = screen.getByTestId("payment-problem");
    expect(within(banner).getByRole("button", { name: "Pay now for invoice in_1Start, $10.00" })).toBeTruthy();
  });

  it("says a subscription whose first payment was authenticated started", () => {
    const { Started } = composeStories(subscription);
    render(<Started />);
    expect(screen.getByRole("status").textContent).toBe("Subscription started: you are on Starter — $10.00 per month.");
  });

  it.each(["PastDue", "Unpaid"] as const)("%s: owners and admins pay the open invoice from the banner", (name) => {
    const Story = composeStories(subscription)[name];
    render(<Story />);
    const banner = screen.getByTestId("payment-problem");
    expect(within(banner).getByRole("button", { name: "Pay now for invoice in_1Renewal, $10.00" })).toBeTruthy();
    expect(within(banner).getByRole("link", { name: "Payment methods" }).getAttribute("href")).toBe("#payment-methods-title");
  });

  it.each(["ViewerPastDue", "ViewerUnpaid"] as const)("%s: viewers read the banner without a way to pay", (name) => {
    const Story = composeStories(subscription)[name];
    render(<Story />);
    const banner = screen.getByTestId("payment-problem");
    expect(within(banner).queryByRole("button")).toBeNull();
    expect(banner.textContent).toContain("Ask an owner or admin of the organisation to update the card and pay the invoice.");
  });

  it("without the open invoice, the banner points to the invoice table", () => {
    const { PastDueInvoiceUnknown } = composeStories(subscription);
    render(<PastDueInvoiceUnknown />);
    const banner = screen.getByTestId("payment-problem");
    expect(banner.textContent).toContain("The renewal payment failed.");
    expect(within(banner).getByRole("link", { name: "Invoices" }).getAttribute("href")).toBe("#invoices-title");
    expect(within(banner).queryByRole("button")).toBeNull();
  });

  it("waits while the banner's payment runs, and while the bank's challenge is open", () => {
    const { PayingOpenInvoice, OpenInvoiceAuthentication } = composeStories(subscription);
    render(<PayingOpenInvoice />);
    const paying = screen.getByRole("button", { name: "Pay now for invoice in_1Renewal, $10.00" }) as HTMLButtonElement;
    expect([paying.disabled, paying.textContent]).toEqual([true, "Paying…"]);
    cleanup();
    render(<OpenInvoiceAuthentication />);
    const step = screen.getByRole("group", { name: "Authenticate the payment" });
    expect(step.textContent).toContain("$10.00 for invoice in_1Renewal");
    expect(document.activeElement).toBe(within(step).getByRole("heading"));
    expect((screen.getByRole("button", { name: /^Pay now/ }) as HTMLButtonElement).disabled).toBe(true);
  });

  it("says a declined payment from the banner changed nothing, why, and what to do, with focus on it", () => {
    const { OpenInvoiceDeclined } = composeStories(subscription);
    render(<OpenInvoiceDeclined />);
    const alert = screen.getByRole("alert");
    expect(alert.textContent).toContain("Your card was declined; invoice in_1Renewal was not paid. The card does not have enough funds.");
    expect(alert.textContent).toContain("Nothing was charged and the subscription did not change.");
    expect(document.activeElement).toBe(alert);
    expect(screen.getByTestId("payment-problem")).toBeTruthy();
  });

  it("says the banner's payment went through once the subscription is active again", () => {
    const { OpenInvoicePaid } = composeStories(subscription);
    render(<OpenInvoicePaid />);
    expect(screen.queryByTestId("payment-problem")).toBeNull();
    expect(screen.getByRole("status").textContent).toBe("Invoice in_1Renewal paid.");
  });

  it("says a subscription that ended after its retries left its last invoice unpaid", () => {
    const { EndedAfterFailedRenewal } = composeStories(subscription);
    render(<EndedAfterFailedRenewal />);
    expect(screen.getByText(/ended on/).textContent).toBe(
      "The Starter — $10.00 per month subscription ended on Feb 1, 2026. Its last invoice (in_1Renewal, $10.00) was not paid.",
    );
    expect(screen.getByRole("button", { name: "Start subscription" })).toBeTruthy();
  });

  it("offers a new default card the subscription's unpaid invoice, in a status region", () => {
    const { OpenInvoiceOffer } = composeStories(paymentMethods);
    render(<OpenInvoiceOffer />);
    const offer = screen.getByRole("status");
    expect(offer.textContent).toBe("Your subscription has an unpaid invoice of $10.00. Pay it now with Mastercard •••• 4444?Pay now");
    expect(within(offer).getByRole("button", { name: "Pay now for invoice in_1Renewal, $10.00" })).toBeTruthy();
  });

  it("says a declined offer changed nothing, with focus on it; a paid one says so without the offer", () => {
    const { OpenInvoiceOfferDeclined, OpenInvoiceOfferPaid } = composeStories(paymentMethods);
    render(<OpenInvoiceOfferDeclined />);
    const alert = screen.getByRole("alert");
    expect(alert.textContent).toContain("Your card was declined; invoice in_1Renewal was not paid.");
    expect(alert.textContent).toContain("Nothing was charged and the subscription did not change.");
    expect(document.activeElement).toBe(alert);
    cleanup();
    render(<OpenInvoiceOfferPaid />);
    expect(screen.queryByTestId("open-invoice-offer")).toBeNull();
    expect(screen.getByTestId("invoice-paid").textContent).toBe("Invoice in_1Renewal paid.");
  });

  it("lists invoices with their amount, status and documents; only the open one can be paid", () => {
    const { Admin } = composeStories(invoices);
    render(<Admin />);
    const table = screen.getByRole("table", { name: "The organisation's invoices, newest first" });
    const rows = within(table).getAllByTestId("invoice");
    expect(rows.map((row) => row.getAttribute("data-status"))).toEqual(["open", "void", "paid"]);
    const open = within(rows[0]!);
    expect(open.getByRole("rowheader").textContent).toBe("DEMO-0003");
    expect(open.getByText("$13.55")).toBeTruthy();
    expect(open.getByText("Open")).toBeTruthy();
    expect(open.getByText("Jan 11, 2026")).toBeTruthy();
    const view = open.getByRole("link", { name: "View invoice DEMO-0003 (opens in a new tab)" });
    expect(view.getAttribute("target")).toBe("_blank");
    expect(view.getAttribute("rel")).toBe("noopener noreferrer");
    expect(open.getByRole("link", { name: "PDF of invoice DEMO-0003 (opens in a new tab)" })).toBeTruthy();
    expect(screen.getAllByRole("button", { name: /^Pay now/ }).map((b) => b.getAttribute("aria-label"))).toEqual([
      "Pay now for invoice DEMO-0003, $13.55",
    ]);
  });

  it("shows viewers the invoices without a way to pay them", () => {
    const { Viewer } = composeStories(invoices);
    render(<Viewer />);
    expect(screen.getAllByTestId("invoice")).toHaveLength(3);
    expect(screen.queryByRole("button")).toBeNull();
  });

  it("says a declined invoice payment was not paid, why and what to do, with focus on it", () => {
    const { Declined } = composeStories(invoices);
    render(<Declined />);
    const alert = screen.getByRole("alert");
    expect(alert.textContent).toContain("Your card was declined; invoice DEMO-0003 was not paid.");
    expect(alert.textContent).toContain("The card does not have enough funds.");
    expect(alert.textContent).toContain("Choose another default card under Payment methods and try again.");
    expect(document.activeElement).toBe(alert);
  });

  it("asks for authentication of an invoice's payment in its own step, with the buttons waiting", () => {
    const { AuthenticationRequired } = composeStories(invoices);
    render(<AuthenticationRequired />);
    const step = screen.getByRole("group", { name: "Authenticate the payment" });
    expect(step.textContent).toContain("$13.55 for invoice DEMO-0003");
    expect(document.activeElement).toBe(within(step).getByRole("heading"));
    expect((screen.getByRole("button", { name: /^Pay now/ }) as HTMLButtonElement).disabled).toBe(true);
  });

  it.each([
    ["Paid", "Invoice DEMO-0003 paid."],
    ["NoLongerPayable", "This invoice can no longer be paid (already paid or void)."],
    ["AuthenticationFailed", "Authentication failed; invoice DEMO-0003 was not paid."],
  ] as const)("%s: says what became of the payment", (name, said) => {
    const Story = composeStories(invoices)[name];
    render(<Story />);
    expect(screen.getByText(said, { exact: false })).toBeTruthy();
  });

  it("offers the next page while there is one, and names a draft by its id", () => {
    const { HasMore, WithDraft } = composeStories(invoices);
    render(<HasMore />);
    expect(screen.getByRole("button", { name: "Load more invoices" })).toBeTruthy();
    render(<WithDraft />);
    expect(screen.getByRole("rowheader", { name: "in_1Draft" })).toBeTruthy();
  });

  it("explains a forbidden action", () => {
    const { ActionForbidden } = composeStories(subscription);
    render(<ActionForbidden />);
    expect(screen.getByRole("alert").textContent).toContain("Your role can only view billing");
  });
});
