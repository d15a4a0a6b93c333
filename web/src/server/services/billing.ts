/**
 * Server-side billing services: one function per API operation, over the typed client. Each
 * returns an ApiResult (the API's status and body, or its error envelope); nothing here knows
 * about HTTP requests from the browser — that is the BFF's job (src/app/api/billing).
 */
import type {
  CancelBody,
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
  PortalSessionBody,
  PreviewRequest,
  SetDefaultBody,
  SetDefaultResult,
  SetupIntent,
  StartSubscriptionBody,
  Started,
  Subscription,
} from "@/api/types";
import { apiClient, type Caller } from "../api-client";
import { settle, unavailable, type ApiResult } from "./result";

async function call<T>(run: () => Promise<{ data?: T; error?: unknown; response: Response }>): Promise<ApiResult<T>> {
  try {
    return settle(await run());
  } catch (cause) {
    return unavailable(cause);
  }
}

export const billingService = {
  getCustomer: (c: Caller) => call<Customer>(() => apiClient(c).GET("/billing/customer")),
  ensureCustomer: (c: Caller) => call<Customer>(() => apiClient(c).POST("/billing/customer", { body: {} })),
  listPaymentMethods: (c: Caller) => call<PaymentMethodList>(() => apiClient(c).GET("/billing/payment-methods")),
  createSetupIntent: (c: Caller) => call<SetupIntent>(() => apiClient(c).POST("/billing/setup-intents", { body: {} })),
  setDefaultPaymentMethod: (c: Caller, body: SetDefaultBody) =>
    call<SetDefaultResult>(() => apiClient(c).PUT("/billing/payment-methods/default", { body })),
  removePaymentMethod: (c: Caller, id: string) =>
    call<Detached>(() => apiClient(c).DELETE("/billing/payment-methods/{id}", { params: { path: { id } } })),
  createPortalSession: (c: Caller, body: PortalSessionBody) =>
    call<PortalSession>(() => apiClient(c).POST("/billing/portal-session", { body })),
  listPlans: (c: Caller) => call<PlanList>(() => apiClient(c).GET("/billing/plans")),
  getSubscription: (c: Caller) => call<Subscription>(() => apiClient(c).GET("/billing/subscription")),
  startSubscription: (c: Caller, body: StartSubscriptionBody) =>
    call<Started>(() => apiClient(c).POST("/billing/subscription", { body })),
  previewInvoice: (c: Caller, body: PreviewRequest | undefined) =>
    call<InvoicePreview>(() =>
      body === undefined ? apiClient(c).POST("/billing/invoice-preview") : apiClient(c).POST("/billing/invoice-preview", { body }),
    ),
  changePlan: (c: Caller, body: PlanChangeBody) =>
    call<PlanChanged>(() => apiClient(c).POST("/billing/subscription/plan-change", { body })),
  cancelSubscription: (c: Caller, body: CancelBody) =>
    call<Subscription>(() => apiClient(c).POST("/billing/subscription/cancel", { body })),
  listInvoices: (c: Caller, query: InvoiceListQuery) =>
    call<InvoicePage>(() => apiClient(c).GET("/billing/invoices", { params: { query } })),
  payInvoice: (c: Caller, id: string) =>
    call<InvoicePayment>(() => apiClient(c).POST("/billing/invoices/{id}/pay", { params: { path: { id } } })),
  resumeSubscription: (c: Caller) => call<Subscription>(() => apiClient(c).POST("/billing/subscription/resume")),
};
