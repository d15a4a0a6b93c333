/**
 * The local test-card picker's stand-in for Stripe.js: confirms a SetupIntent against the fake
 * Stripe with a publishable key and the intent's client secret, exactly the two calls Stripe.js
 * makes (`GET`/`POST /v1/setup_intents/:id[/confirm]`). The fake answers CORS, so the browser
 * calls it directly; no secret key is involved.
 */

export interface TestCard {
  token: string;
  label: string;
}

export const TEST_CARDS: TestCard[] = [
  { token: "pm_card_visa", label: "Visa •••• 4242" },
  { token: "pm_card_mastercard", label: "Mastercard •••• 4444" },
  { token: "pm_card_amex", label: "American Express •••• 8431" },
  { token: "pm_card_discover", label: "Discover •••• 1117" },
  { token: "pm_card_chargeCustomerFail", label: "Visa •••• 0341 (charges fail)" },
  { token: "pm_card_chargeDeclined", label: "Visa •••• 0002 (declined)" },
];

export class CardSetupError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = "CardSetupError";
  }
}

export async function confirmSetupIntentWithTestCard(options: {
  stripeUrl: string;
  publishableKey: string;
  setupIntentId: string;
  clientSecret: string;
  cardToken: string;
  returnUrl: string;
}): Promise<{ paymentMethodId: string }> {
  const form = new URLSearchParams({
    client_secret: options.clientSecret,
    payment_method: options.cardToken,
    return_url: options.returnUrl,
  });
  let response: Response;
  try {
    response = await fetch(`${options.stripeUrl}/v1/setup_intents/${encodeURIComponent(options.setupIntentId)}/confirm`, {
      method: "POST",
      headers: { Authorization: `Bearer ${options.publishableKey}`, "Content-Type": "application/x-www-form-urlencoded" },
      body: form,
    });
  } catch {
    throw new CardSetupError("The test Stripe cannot be reached.", "stripe_unreachable");
  }
  const body = (await response.json().catch(() => null)) as {
    status?: string;
    payment_method?: string | null;
    error?: { message?: string; code?: string; decline_code?: string };
  } | null;
  if (!response.ok || !body) {
    throw new CardSetupError(body?.error?.message ?? `The card was refused (HTTP ${response.status}).`, body?.error?.decline_code ?? body?.error?.code ?? "card_error");
  }
  if (body.status !== "succeeded" || !body.payment_method) {
    throw new CardSetupError(
      body.status === "requires_action"
        ? "This card needs 3-D Secure authentication, which the test-card picker does not perform."
        : `The card could not be set up (status ${body.status ?? "unknown"}).`,
      body.status ?? "unknown",
    );
  }
  return { paymentMethodId: body.payment_method };
}
