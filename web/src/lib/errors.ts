/** The message a person sees for an API error code (the API's own message is the fallback). */

const MESSAGES: Record<string, string> = {
  forbidden: "Your role can only view billing. Ask an owner or admin to make this change.",
  unauthenticated: "Your session has ended. Sign in again.",
  default_payment_method_required:
    "This is the only card of an active subscription, so it cannot be removed. Add another card first.",
  payment_method_not_found: "That card is no longer on this account. The list has been refreshed.",
  subscription_exists: "This organisation already has a subscription.",
  subscription_canceled: "The subscription has ended; start a new one instead.",
  plan_unchanged: "That is already the current plan.",
  cancellation_pending:
    "The subscription is set to end at the period end. Resume it first, then schedule the new plan.",
  invalid_proration_date: "The preview is out of date. Review the new preview and confirm again.",
  unknown_plan: "That plan is not available.",
  stripe_unavailable: "The payment provider is not answering right now. Try again in a moment.",
  store_unavailable: "Billing is temporarily unavailable. Try again in a moment.",
  api_unavailable: "The billing service cannot be reached. Try again in a moment.",
  api_timeout: "The billing service did not answer in time. Try again.",
  network_error: "The billing service cannot be reached. Check your connection.",
  billing_disabled: "Billing is not enabled for this environment.",
  idempotency_conflict: "This action conflicts with an earlier one. Reload the page and try again.",
};

export interface DisplayError {
  code: string;
  message: string;
  requestId?: string;
}

export function describeError(error: unknown): DisplayError {
  if (error && typeof error === "object" && "code" in error && typeof (error as { code: unknown }).code === "string") {
    const { code, message, requestId } = error as { code: string; message?: string; requestId?: string };
    return { code, message: MESSAGES[code] ?? message ?? "Something went wrong.", requestId };
  }
  return { code: "unknown", message: error instanceof Error ? error.message : "Something went wrong." };
}
