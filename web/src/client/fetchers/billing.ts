/** One fetcher per BFF route; typed with the API's generated types. */
import type {
  Customer,
  Detached,
  InvoiceListQuery,
  InvoicePage,
  InvoicePayment,
  InvoicePreview,
  PaymentMethodList,
  PlanChangeBody,
  PlanChanged,
  PlanList,
  PortalSession,
  PreviewRequest,
  SetDefaultResult,
  SetupIntent,
  StartSubscriptionBody,
  Started,
  Subscription,
} from "@/api/types";
import { bff, orNull } from "./http";

export const fetchCustomer = (signal?: AbortSignal) => orNull(bff<Customer>("/customer", { signal }), "customer_not_found");
export const fetchPaymentMethods = (signal?: AbortSignal) => bff<PaymentMethodList>("/payment-methods", { signal });
export const fetchPlans = (signal?: AbortSignal) => bff<PlanList>("/plans", { signal });
export const fetchSubscription = (signal?: AbortSignal) =>
  orNull(bff<Subscription>("/subscription", { signal }), "subscription_not_found");
/** The upcoming invoice (no body), or what a plan change would invoice. */
export const fetchInvoicePreview = (request?: PreviewRequest, signal?: AbortSignal) =>
  bff<InvoicePreview>("/invoice-preview", { method: "POST", body: request, signal });
/** One page of invoices, newest first (`starting_after`: the previous page's `next_cursor`). */
export function fetchInvoices(query: InvoiceListQuery, signal?: AbortSignal) {
  const params = new URLSearchParams();
  if (query.limit !== undefined) params.set("limit", String(query.limit));
  if (query.starting_after) params.set("starting_after", query.starting_after);
  const search = params.toString();
  return bff<InvoicePage>(`/invoices${search ? `?${search}` : ""}`, { signal });
}

export const createSetupIntent = (idempotencyKey: string) =>
  bff<SetupIntent>("/setup-intents", { method: "POST", body: {}, idempotencyKey });
export const setDefaultPaymentMethod = (paymentMethodId: string, idempotencyKey: string) =>
  bff<SetDefaultResult>("/payment-methods/default", {
    method: "PUT",
    body: { payment_method_id: paymentMethodId },
    idempotencyKey,
  });
export const removePaymentMethod = (paymentMethodId: string, idempotencyKey: string) =>
  bff<Detached>(`/payment-methods/${encodeURIComponent(paymentMethodId)}`, { method: "DELETE", idempotencyKey });
export const createPortalSession = (returnPath: string, idempotencyKey: string) =>
  bff<PortalSession>("/portal-session", { method: "POST", body: { return_url: returnPath }, idempotencyKey });
export const startSubscription = (body: StartSubscriptionBody, idempotencyKey: string) =>
  bff<Started>("/subscription", { method: "POST", body, idempotencyKey });
/** The plan change; its answer says whether the payment waits for the customer (`requires_action`). */
export const changePlan = (body: PlanChangeBody, idempotencyKey: string) =>
  bff<PlanChanged>("/subscription/plan-change", { method: "POST", body, idempotencyKey });
export const cancelAtPeriodEnd = (idempotencyKey: string) =>
  bff<Subscription>("/subscription/cancel", { method: "POST", body: { at_period_end: true }, idempotencyKey });
export const resumeSubscription = (idempotencyKey: string) =>
  bff<Subscription>("/subscription/resume", { method: "POST", idempotencyKey });
/** Pays an open invoice with the default card; its answer says whether the bank asks for 3-D Secure. */
export const payInvoice = (invoiceId: string, idempotencyKey: string) =>
  bff<InvoicePayment>(`/invoices/${encodeURIComponent(invoiceId)}/pay`, { method: "POST", idempotencyKey });
