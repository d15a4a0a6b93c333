"use client";

import { useElements, useStripe } from "@stripe/react-stripe-js";
import { useMutation } from "@tanstack/react-query";
import { CardSetupError, PaymentAuthenticationError } from "../fetchers/stripe-test-cards";

/**
 * Confirms the Payment Element's SetupIntent with Stripe.js in the browser (3-D Secure included);
 * answers the saved card's id. Inside `<Elements>` only, so Stripe.js stays in the card form's
 * lazily loaded chunk.
 */
export function useConfirmCardSetup() {
  const stripe = useStripe();
  const elements = useElements();
  const mutation = useMutation({
    mutationFn: async () => {
      if (!stripe || !elements) throw new CardSetupError("The card form is still loading.", "stripe_not_ready");
      const result = await stripe.confirmSetup({
        elements,
        redirect: "if_required",
        confirmParams: { return_url: window.location.href },
      });
      if (result.error) throw new CardSetupError(result.error.message ?? "The card was refused.", result.error.code ?? result.error.type);
      const paymentMethod = result.setupIntent.payment_method;
      const paymentMethodId = typeof paymentMethod === "string" ? paymentMethod : paymentMethod?.id;
      if (!paymentMethodId) throw new CardSetupError("Stripe saved no card for this setup.", "payment_method_missing");
      return paymentMethodId;
    },
  });
  return { ...mutation, ready: stripe !== null && elements !== null };
}

/**
 * Authenticates a payment the API handed over (`requires_action`, a PaymentIntent client secret)
 * with Stripe.js: `confirmCardPayment` shows the bank's 3-D Secure challenge and pays with the card
 * the intent already holds. A refused challenge is a PaymentAuthenticationError; Stripe.js not
 * reaching Stripe is a CardSetupError (try again). Inside `<Elements>` only, like the card form.
 */
export function useConfirmCardPayment() {
  const stripe = useStripe();
  const mutation = useMutation({
    mutationFn: async (clientSecret: string) => {
      if (!stripe) throw new CardSetupError("Stripe is still loading.", "stripe_not_ready");
      const result = await stripe.confirmCardPayment(clientSecret);
      if (!result.error) return result.paymentIntent.status;
      const code = result.error.code ?? result.error.type;
      if (result.error.type === "api_connection_error") throw new CardSetupError(result.error.message ?? "Stripe cannot be reached.", code);
      throw new PaymentAuthenticationError(result.error.message ?? "The payment was not authenticated.", code);
    },
  });
  return { ...mutation, ready: stripe !== null };
}
