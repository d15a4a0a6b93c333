/** Settings the server hands to the page at request time (never secrets). */
export interface PublicConfig {
  /** NEXT_PUBLIC_ENABLE_BILLING: the billing page is shown only when "true". */
  enableBilling: boolean;
  /** NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY: Stripe Elements when set, else the local test-card picker. */
  stripePublishableKey: string | null;
  /** Where the test-card picker confirms SetupIntents (the local fake Stripe), as Stripe.js would. */
  stripeFakeUrl: string;
  /** The publishable key the picker uses against the fake (any `pk_test_…`). */
  stripeFakePublishableKey: string;
  devSignIn: boolean;
}
