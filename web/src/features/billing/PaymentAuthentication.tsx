"use client";

import { lazy, Suspense } from "react";
import { PaymentAuthenticationError } from "@/client/fetchers/stripe-test-cards";
import { useAuthenticateTestPayment } from "@/client/hooks/mutations";
import type { PublicConfig } from "@/lib/public-config";
import { TestAuthenticationChallenge } from "./TestAuthenticationChallenge";
import { LoadingState } from "./ui";

const StripePaymentAuthentication = lazy(() => import("./StripePaymentAuthentication"));

export interface PaymentAuthenticationProps {
  config: PublicConfig;
  /** The PaymentIntent's client secret the API handed over (`requires_action`). */
  clientSecret: string;
  onAuthenticated: () => void;
  /** The challenge was failed: the payment was not made. */
  onFailed: (error: PaymentAuthenticationError) => void;
}

/**
 * The 3-D Secure step of a payment: Stripe.js with a publishable key; the fake Stripe's challenge,
 * answered by the person, without one (the same split as adding a card).
 */
export function PaymentAuthentication({ config, ...props }: PaymentAuthenticationProps) {
  if (config.stripePublishableKey) {
    return (
      <Suspense fallback={<LoadingState label="Loading Stripe…" />}>
        <StripePaymentAuthentication publishableKey={config.stripePublishableKey} {...props} />
      </Suspense>
    );
  }
  return <TestPaymentAuthentication config={config} {...props} />;
}

function TestPaymentAuthentication({ config, clientSecret, onAuthenticated, onFailed }: PaymentAuthenticationProps) {
  const authenticate = useAuthenticateTestPayment(config);
  return (
    <TestAuthenticationChallenge
      busy={authenticate.isPending}
      error={authenticate.error instanceof PaymentAuthenticationError ? null : authenticate.error}
      onAnswer={(fail) =>
        authenticate.mutate(
          { clientSecret, fail },
          {
            onSuccess: () => onAuthenticated(),
            onError: (error) => {
              if (error instanceof PaymentAuthenticationError) onFailed(error);
            },
          },
        )
      }
    />
  );
}
