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
  payment_failed: "The card was declined, so the plan did not change.",
  payment_pending:
    "A plan change is already waiting for payment of its invoice. Pay that invoice under Invoices, or wait until the change lapses, then change the plan again.",
  payment_authentication_failed: "Authentication failed; your plan did not change.",
  invoice_not_payable: "This invoice can no longer be paid (already paid or void).",
  invoice_not_found: "That invoice is no longer on this account. The list has been refreshed.",
  change_still_applying:
    "The payment went through; Stripe is still applying the new plan. It shows here in a moment (reload the page if it does not).",
};

/** Why a card was declined, in plain words, by Stripe's decline code (sensitive ones arrive as generic). */
const DECLINE_REASONS: Record<string, string> = {
  generic_decline: "The bank declined the payment without giving a reason.",
  insufficient_funds: "The card does not have enough funds.",
  card_declined: "The bank declined the card.",
  expired_card: "The card has expired.",
  incorrect_cvc: "The card's security code was not accepted.",
  processing_error: "The bank could not process the payment; it may work again in a little while.",
};

export function declineReason(declineCode: string | null | undefined): string {
  return DECLINE_REASONS[declineCode ?? ""] ?? "The bank declined the payment.";
}

export interface DisplayError {
  code: string;
  message: string;
  requestId?: string;
  /** A declined payment's reason code (`BillingApiError.declineCode`). */
  declineCode?: string | null;
}

export function describeError(error: unknown): DisplayError {
  if (error && typeof error === "object" && "code" in error && typeof (error as { code: unknown }).code === "string") {
    const { code, message, requestId, declineCode } = error as Partial<DisplayError> & { code: string };
    return { code, message: MESSAGES[code] ?? message ?? "Something went wrong.", requestId, declineCode };
  }
  return { code: "unknown", message: error instanceof Error ? error.message : "Something went wrong." };
}
