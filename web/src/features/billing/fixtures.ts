/** Sample API answers for stories and tests (shapes of the generated types). */
import type { Invoice, InvoicePage, InvoicePreview, OpenInvoice, PaymentMethod, PendingPayment, Plan, Subscription } from "@/api/types";
import { BillingApiError } from "@/client/fetchers/http";
import { PaymentAuthenticationError } from "@/client/fetchers/stripe-test-cards";

export const NOW = 1_767_225_600; // 1 Jan 2026 00:00 UTC
const DAY = 86_400;

export const plans: Plan[] = [
  { plan: "starter_monthly", product: "Starter", amount: 1000, currency: "usd", interval: "month", interval_count: 1 },
  { plan: "pro_monthly", product: "Pro", amount: 3000, currency: "usd", interval: "month", interval_count: 1 },
  { plan: "pro_yearly", product: "Pro", amount: 30000, currency: "usd", interval: "year", interval_count: 1 },
];

/**
 * The unpaid invoices a subscription answer names (`open_invoice`): a renewal that failed on Jan 1
 * (Stripe retries on Jan 4), the same after Stripe's last retry, and a first payment not completed.
 */
export const failedRenewal: OpenInvoice = {
  id: "in_1Renewal",
  status: "open",
  amount_due: 1000,
  currency: "usd",
  next_payment_attempt: NOW + 3 * DAY,
  hosted_invoice_url: "https://invoice.stripe.test/i/in_1Renewal",
};
export const failedRenewalNoRetries: OpenInvoice = { ...failedRenewal, next_payment_attempt: null };
export const uncollectibleRenewal: OpenInvoice = { ...failedRenewalNoRetries, status: "uncollectible" };
export const firstPaymentWaiting: OpenInvoice = {
  ...failedRenewalNoRetries,
  id: "in_1Start",
  hosted_invoice_url: "https://invoice.stripe.test/i/in_1Start",
};

/**
 * One subscription per state, each with the flags the API sends for it (`can_change_plan`: active,
 * trialing or past due; `has_upcoming_invoice`: that, and not cancelling).
 */
export const activeSubscription: Subscription = {
  id: "sub_1Demo",
  plan: "starter_monthly",
  status: "active",
  quantity: 1,
  current_period_start: NOW,
  current_period_end: NOW + 31 * DAY,
  cancel_at_period_end: false,
  scheduled_change: null,
  pending_payment: null,
  open_invoice: null,
  can_change_plan: true,
  has_upcoming_invoice: true,
  payment_state: "ok",
  access: { decision: "full", grace_until: null },
};

const BLOCKED = { decision: "blocked", grace_until: null };

export const trialingSubscription: Subscription = { ...activeSubscription, status: "trialing" };
/** The renewal of Jan 1 failed: access for the 7 grace days, Stripe retries on Jan 4. */
export const pastDueSubscription: Subscription = {
  ...activeSubscription,
  status: "past_due",
  payment_state: "past_due",
  open_invoice: failedRenewal,
  access: { decision: "grace", grace_until: NOW + 7 * DAY },
};
/** Stripe's retries ended and the account setting leaves it past due: no attempt planned, grace over. */
export const pastDueNoRetriesSubscription: Subscription = { ...pastDueSubscription, open_invoice: failedRenewalNoRetries, access: BLOCKED };
/** Stripe's retries ended and the account setting makes it unpaid (the invoice marked uncollectible). */
export const unpaidSubscription: Subscription = {
  ...activeSubscription,
  status: "unpaid",
  can_change_plan: false,
  has_upcoming_invoice: false,
  payment_state: "unpaid",
  open_invoice: uncollectibleRenewal,
  access: BLOCKED,
};
export const cancelingSubscription: Subscription = { ...activeSubscription, cancel_at_period_end: true, has_upcoming_invoice: false };
export const incompleteSubscription: Subscription = {
  ...activeSubscription,
  status: "incomplete",
  can_change_plan: false,
  has_upcoming_invoice: false,
  payment_state: "action_required",
  open_invoice: firstPaymentWaiting,
  access: BLOCKED,
};
export const canceledSubscription: Subscription = {
  ...activeSubscription,
  status: "canceled",
  can_change_plan: false,
  has_upcoming_invoice: false,
  access: BLOCKED,
};
/** Stripe's retries ended and the account setting cancels the subscription: its renewal stays unpaid. */
export const canceledAfterFailedRenewal: Subscription = { ...canceledSubscription, open_invoice: failedRenewalNoRetries };
export const subscriptionWithPendingChange: Subscription = {
  ...activeSubscription,
  plan: "pro_monthly",
  scheduled_change: { plan: "starter_monthly", quantity: 1, effective_at: NOW + 31 * DAY },
};

/** An upgrade to Pro whose invoice was not paid (declined, or 3-D Secure not done yet): Starter stays. */
export const pendingPayment: PendingPayment = { plan: "pro_monthly", quantity: 1, expires_at: NOW + 23 * 3600, invoice_id: "in_1Upgrade" };
export const subscriptionWithPendingPayment: Subscription = {
  ...activeSubscription,
  pending_payment: pendingPayment,
  open_invoice: { ...failedRenewalNoRetries, id: "in_1Upgrade", amount_due: 1355, hosted_invoice_url: "https://invoice.stripe.test/i/in_1Upgrade" },
};

export const paymentMethods: PaymentMethod[] = [
  { id: "pm_1Visa", brand: "visa", last4: "4242", exp_month: 12, exp_year: 2029, is_default: true },
  { id: "pm_1Master", brand: "mastercard", last4: "4444", exp_month: 3, exp_year: 2030, is_default: false },
];

export const upcomingInvoice: InvoicePreview = {
  currency: "usd",
  subtotal: 1000,
  tax: 0,
  total: 1000,
  amount_due: 1000,
  next_payment_attempt: NOW + 31 * DAY,
  proration_date: null,
  lines: [{ description: "1 × Starter (at $10.00 / month)", amount: 1000, period_start: NOW + 31 * DAY, period_end: NOW + 59 * DAY, proration: false }],
};

export const prorationPreview: InvoicePreview = {
  currency: "usd",
  subtotal: 1355,
  tax: 0,
  total: 1355,
  amount_due: 1355,
  next_payment_attempt: null,
  proration_date: NOW + 10 * DAY,
  lines: [
    { description: "Unused time on Starter after 11 Jan 2026", amount: -677, period_start: NOW + 10 * DAY, period_end: NOW + 31 * DAY, proration: true },
    { description: "Remaining time on Pro after 11 Jan 2026", amount: 2032, period_start: NOW + 10 * DAY, period_end: NOW + 31 * DAY, proration: true },
  ],
};

export const yenInvoice: InvoicePreview = { ...upcomingInvoice, currency: "jpy", subtotal: 1500, total: 1500, amount_due: 1500, lines: [{ ...upcomingInvoice.lines[0]!, description: "Starter (JPY)", amount: 1500 }] };

const invoiceLinks = (id: string) => ({
  hosted_invoice_url: `https://invoice.stripe.test/i/${id}`,
  invoice_pdf: `https://invoice.stripe.test/i/${id}/pdf`,
});
/** Invoices newest first: the declined upgrade's open invoice, a void one, the first month paid. */
export const openInvoice: Invoice = {
  id: "in_1Upgrade",
  number: "DEMO-0003",
  status: "open",
  total: 1355,
  amount_due: 1355,
  amount_paid: 0,
  amount_remaining: 1355,
  currency: "usd",
  created: NOW + 10 * DAY,
  period_start: NOW + 10 * DAY,
  period_end: NOW + 10 * DAY,
  ...invoiceLinks("in_1Upgrade"),
};
export const voidInvoice: Invoice = {
  ...openInvoice,
  id: "in_1Void",
  number: "DEMO-0002",
  status: "void",
  amount_remaining: 0,
  created: NOW + 5 * DAY,
  ...invoiceLinks("in_1Void"),
};
export const paidInvoice: Invoice = {
  ...openInvoice,
  id: "in_1First",
  number: "DEMO-0001",
  status: "paid",
  total: 1000,
  amount_due: 1000,
  amount_paid: 1000,
  amount_remaining: 0,
  created: NOW,
  period_start: NOW,
  period_end: NOW + 31 * DAY,
  ...invoiceLinks("in_1First"),
};
/** A draft has no number, no hosted page and no PDF yet. */
export const draftInvoice: Invoice = {
  ...paidInvoice,
  id: "in_1Draft",
  number: null,
  status: "draft",
  amount_paid: 0,
  amount_remaining: 1000,
  hosted_invoice_url: null,
  invoice_pdf: null,
};
export const invoices: Invoice[] = [openInvoice, voidInvoice, paidInvoice];
export const invoicePage: InvoicePage = { invoices, has_more: false, next_cursor: null };

export const serverError = new BillingApiError(503, "stripe_unavailable", "Stripe is unavailable", "req_demo123");
export const forbidden = new BillingApiError(403, "forbidden", "viewers may not change billing", "req_demo403");
export const onlyCardError = new BillingApiError(
  409,
  "default_payment_method_required",
  "the only card of an active subscription cannot be removed",
  "req_demo409",
);
export const paymentDeclined = new BillingApiError(
  402,
  "payment_failed",
  "Your card has insufficient funds.",
  "req_demo402",
  "insufficient_funds",
);
export const paymentPending = new BillingApiError(409, "payment_pending", "a plan change is waiting for payment", "req_demo409p");
export const invoiceNotPayable = new BillingApiError(409, "invoice_not_payable", "the invoice is not open", "req_demo409i");
/** The customer failed the bank's 3-D Secure challenge. */
export const authenticationFailed = new PaymentAuthenticationError(
  "We are unable to authenticate your payment method.",
  "payment_intent_authentication_failure",
);
