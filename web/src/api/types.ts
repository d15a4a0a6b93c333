/**
 * Types of the billing API, derived from the generated `schema.d.ts` (openapi-typescript) by route
 * and status rather than by component name, so a regenerated schema keeps these names stable.
 * Types only: safe to import from server and client code alike.
 */
import type { paths } from "./schema";

type Method = "get" | "post" | "put" | "delete";
type JsonContent<R> = R extends { content: { "application/json": infer T } } ? T : never;

/** The JSON body a route answers with `status`. */
export type ResponseOf<P extends keyof paths, M extends Method, S extends number> = paths[P][M] extends {
  responses: infer R;
}
  ? S extends keyof R
    ? JsonContent<R[S]>
    : never
  : never;

/** The JSON request body a route takes. */
export type RequestBodyOf<P extends keyof paths, M extends Method> = paths[P][M] extends {
  requestBody?: infer B;
}
  ? JsonContent<NonNullable<B>>
  : never;

export type ApiPath = keyof paths;

export type Customer = ResponseOf<"/billing/customer", "get", 200>;
export type PaymentMethodList = ResponseOf<"/billing/payment-methods", "get", 200>;
export type PaymentMethod = PaymentMethodList["payment_methods"][number];
export type SetupIntent = ResponseOf<"/billing/setup-intents", "post", 201>;
export type SetDefaultBody = RequestBodyOf<"/billing/payment-methods/default", "put">;
export type SetDefaultResult = ResponseOf<"/billing/payment-methods/default", "put", 200>;
export type Detached = ResponseOf<"/billing/payment-methods/{id}", "delete", 200>;
export type PortalSessionBody = RequestBodyOf<"/billing/portal-session", "post">;
export type PortalSession = ResponseOf<"/billing/portal-session", "post", 201>;
export type PlanList = ResponseOf<"/billing/plans", "get", 200>;
export type Plan = PlanList["plans"][number];
export type Subscription = ResponseOf<"/billing/subscription", "get", 200>;
export type ScheduledChange = NonNullable<Subscription["scheduled_change"]>;
/** A plan change that waits for its invoice to be paid (a Stripe pending update). */
export type PendingPayment = NonNullable<Subscription["pending_payment"]>;
/**
 * The subscription's latest invoice while it is unpaid (a failed renewal, a first payment or a plan
 * change waiting), with Stripe's next automatic attempt; also what a new default card is offered to pay.
 */
export type OpenInvoice = NonNullable<Subscription["open_invoice"]>;
export type StartSubscriptionBody = RequestBodyOf<"/billing/subscription", "post">;
export type Started = ResponseOf<"/billing/subscription", "post", 201>;
export type PreviewRequest = RequestBodyOf<"/billing/invoice-preview", "post">;
export type InvoicePreview = ResponseOf<"/billing/invoice-preview", "post", 200>;
export type InvoiceLine = InvoicePreview["lines"][number];
export type PlanChangeBody = RequestBodyOf<"/billing/subscription/plan-change", "post">;
/** The subscription after a plan change, plus whether its payment waits for the customer (3-D Secure). */
export type PlanChanged = ResponseOf<"/billing/subscription/plan-change", "post", 200>;
export type CancelBody = RequestBodyOf<"/billing/subscription/cancel", "post">;
/** One page of the org's invoices, newest first; `next_cursor` asks for the next page. */
export type InvoicePage = ResponseOf<"/billing/invoices", "get", 200>;
export type Invoice = InvoicePage["invoices"][number];
export type InvoiceListQuery = NonNullable<paths["/billing/invoices"]["get"]["parameters"]["query"]>;
/** An invoice after a payment attempt: paid, or waiting for the customer's bank (`requires_action`). */
export type InvoicePayment = ResponseOf<"/billing/invoices/{id}/pay", "post", 200>;

export type Timing = NonNullable<PlanChangeBody["timing"]>;
export type ProrationBehavior = NonNullable<PlanChangeBody["proration_behavior"]>;

/**
 * The API's one error envelope: `{"error": {"code", "message", "request_id"}}`; a declined payment
 * (402 `payment_failed`) adds the card's `decline_code`.
 */
export interface ErrorEnvelope {
  error: { code: string; message: string; request_id: string; decline_code?: string | null };
}

export type Role = "owner" | "admin" | "viewer";

/** Roles that may change billing; viewers only look. */
export function canManageBilling(role: Role | string): boolean {
  return role === "owner" || role === "admin";
}
