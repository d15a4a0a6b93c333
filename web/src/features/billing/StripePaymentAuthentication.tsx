"use client";

import { Elements } from "@stripe/react-stripe-js";
import { loadStripe } from "@stripe/stripe-js/pure";
import { useMemo } from "react";
import { PaymentAuthenticationError } from "@/client/fetchers/stripe-test-cards";
import { useConfirmCardPayment } from "@/client/hooks/stripe-elements";
import type { PaymentAuthenticationProps } from "./PaymentAuthentication";
import { ActionError } from "./ui";

/**
 * Authenticates a payment with Stripe.js (`confirmCardPayment`: the bank's 3-D Secure challenge in
 * Stripe's own frame). Loaded lazily, like the card form, so Stripe.js stays out of the page's chunk.
 */
export default function StripePaymentAuthentication({
  publishableKey,
  ...props
}: Omit<PaymentAuthenticationProps, "config"> & { publishableKey: string }) {
  const stripePromise = useMemo(() => loadStripe(publishableKey), [publishableKey]);
  return (
    <Elements stripe={stripePromise}>
      <AuthenticateButton {...props} />
    </Elements>
  );
}

function AuthenticateButton({ clientSecret, onAuthenticated, onFailed }: Omit<PaymentAuthenticationProps, "config">) {
  const confirm = useConfirmCardPayment();
  return (
    <div className="stack">
      <div className="row">
        <button
          type="button"
          className="primary"
          disabled={!confirm.ready || confirm.isPending}
          aria-busy={confirm.isPending}
          onClick={() =>
            confirm.mutate(clientSecret, {
              onSuccess: () => onAuthenticated(),
              onError: (error) => {
                if (error instanceof PaymentAuthenticationError) onFailed(error);
              },
            })
          }
        >
          {confirm.isPending ? "Waiting for your bank…" : "Authenticate payment"}
        </button>
      </div>
      {/* A failed challenge is the panel's to show; Stripe not answering stays here, to try again. */}
      <ActionError error={confirm.error instanceof PaymentAuthenticationError ? null : confirm.error} />
    </div>
  );
}
