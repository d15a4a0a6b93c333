/**
 * The local test-card picker's stand-in for Stripe.js: confirms a SetupIntent against the fake
 * Stripe with a publishable key and the intent's client secret, exactly the two calls Stripe.js
 * makes (`GET`/`POST /v1/setup_intents/:id[/confirm]`). The fake answers CORS, so the browser
 * calls it directly; no secret key is involved. Its 3-D Secure challenges stand in for the bank's
 * page: a card set up with one passes it here; a payment's is answered by the person (pass or fail).
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
  { token: "pm_card_chargeCustomerFail", label: "Visa •••• 0341 (declines every charge)" },
  { token: "pm_card_authenticationRequired", label: "Visa •••• 3184 (3-D Secure on every payment)" },
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

/** A 3-D Secure challenge that was not passed: the payment (or card) was not authenticated. */
export class PaymentAuthenticationError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = "PaymentAuthenticationError";
  }
}

/** What the fake answers about an intent (the fields a publishable key sees that matter here). */
interface IntentAnswer {
  status?: string;
  payment_method?: string | null;
  last_setup_error?: { message?: string; code?: string } | null;
  last_payment_error?: { message?: string; code?: string } | null;
  error?: { message?: string; code?: string; decline_code?: string };
}

async function callStripe(url: string, init: RequestInit): Promise<{ response: Response; body: IntentAnswer | null }> {
  let response: Response;
  try {
    response = await fetch(url, init);
  } catch {
    throw new CardSetupError("The test Stripe cannot be reached.", "stripe_unreachable");
  }
  return { response, body: (await response.json().catch(() => null)) as IntentAnswer | null };
}

type IntentKind = "setup_intents" | "payment_intents";

/** The intent a client secret belongs to: `pi_123_secret_abc` → `pi_123`. */
export function intentIdOf(clientSecret: string): string {
  return clientSecret.split("_secret_")[0] ?? clientSecret;
}

/**
 * The 3-D Secure challenge of an intent in `requires_action`, answered (passed, or failed with
 * `fail`), then the intent read back with the publishable key and client secret, as Stripe.js reads
 * it once its challenge frame closes. The fake's challenge route (`/_fake/…/authenticate`) answers
 * no CORS, so it is sent the way the frame's form would be (`no-cors`: it runs, its answer cannot be
 * read); the intent read back says how it went.
 */
async function answerChallenge(options: {
  stripeUrl: string;
  publishableKey: string;
  kind: IntentKind;
  clientSecret: string;
  fail: boolean;
}): Promise<IntentAnswer> {
  const id = encodeURIComponent(intentIdOf(options.clientSecret));
  try {
    await fetch(`${options.stripeUrl}/_fake/${options.kind}/${id}/authenticate`, {
      method: "POST",
      mode: "no-cors",
      body: options.fail ? JSON.stringify({ fail: true }) : "",
    });
  } catch {
    throw new CardSetupError("The test Stripe cannot be reached.", "stripe_unreachable");
  }
  const query = new URLSearchParams({ client_secret: options.clientSecret });
  const { response, body } = await callStripe(`${options.stripeUrl}/v1/${options.kind}/${id}?${query}`, {
    headers: { Authorization: `Bearer ${options.publishableKey}` },
  });
  if (!response.ok || !body) {
    throw new CardSetupError(body?.error?.message ?? `The test Stripe refused the request (HTTP ${response.status}).`, body?.error?.code ?? "stripe_error");
  }
  return body;
}

/**
 * Answers the 3-D Secure challenge of a payment the API handed over (`requires_action` with a
 * PaymentIntent client secret) as the person chose: passed, Stripe pays the invoice; failed, the
 * intent is back to `requires_payment_method` and this throws PaymentAuthenticationError.
 */
export async function authenticateTestPayment(options: {
  stripeUrl: string;
  publishableKey: string;
  clientSecret: string;
  fail: boolean;
}): Promise<void> {
  const intent = await answerChallenge({ ...options, kind: "payment_intents" });
  if (intent.status === "succeeded" || intent.status === "processing") return;
  throw new PaymentAuthenticationError(
    intent.last_payment_error?.message ?? "The payment was not authenticated.",
    intent.last_payment_error?.code ?? "payment_authentication_failed",
  );
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
  const { response, body: confirmed } = await callStripe(
    `${options.stripeUrl}/v1/setup_intents/${encodeURIComponent(options.setupIntentId)}/confirm`,
    {
      method: "POST",
      headers: { Authorization: `Bearer ${options.publishableKey}`, "Content-Type": "application/x-www-form-urlencoded" },
      body: form,
    },
  );
  if (!response.ok || !confirmed) {
    throw new CardSetupError(
      confirmed?.error?.message ?? `The card was refused (HTTP ${response.status}).`,
      confirmed?.error?.decline_code ?? confirmed?.error?.code ?? "card_error",
    );
  }
  // A card that asks for 3-D Secure at setup: the person adding it passes the challenge.
  const body =
    confirmed.status === "requires_action"
      ? await answerChallenge({ ...options, kind: "setup_intents", fail: false })
      : confirmed;
  if (body.status !== "succeeded" || !body.payment_method) {
    throw new CardSetupError(
      body.last_setup_error?.message ?? `The card could not be set up (status ${body.status ?? "unknown"}).`,
      body.last_setup_error?.code ?? body.status ?? "unknown",
    );
  }
  return { paymentMethodId: body.payment_method };
}
