import type { PreviewRequest } from "@/api/types";

/** Every billing query key, in one place, so mutations invalidate the right ones. */
export const billingKeys = {
  all: ["billing"] as const,
  customer: () => [...billingKeys.all, "customer"] as const,
  paymentMethods: () => [...billingKeys.all, "payment-methods"] as const,
  plans: () => [...billingKeys.all, "plans"] as const,
  subscription: () => [...billingKeys.all, "subscription"] as const,
  upcomingInvoice: () => [...billingKeys.all, "invoice-preview", "upcoming"] as const,
  invoices: () => [...billingKeys.all, "invoices"] as const,
  invoicePreview: (request: PreviewRequest) => [...billingKeys.all, "invoice-preview", request] as const,
};
