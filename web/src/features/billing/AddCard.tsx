"use client";

import { lazy, Suspense, useState } from "react";
import { confirmSetupIntentWithTestCard, TEST_CARDS } from "@/client/fetchers/stripe-test-cards";
import { useCreateSetupIntent, useRefreshPaymentMethods, useSetDefaultPaymentMethod } from "@/client/hooks/mutations";
import type { PublicConfig } from "@/lib/public-config";
import { TestCardPicker } from "./TestCardPicker";
import { LoadingState } from "./ui";

const StripeElementsCard = lazy(() => import("./StripeElementsCard"));

/**
 * Stripe Elements with a publishable key; the local test-card picker without one. A card added
 * while there is no default card becomes the default (invoices need one).
 */
export function AddCard({ config, hasDefault }: { config: PublicConfig; hasDefault: boolean }) {
  if (config.stripePublishableKey) {
    return (
      <Suspense fallback={<LoadingState label="Loading the card form…" />}>
        <StripeElementsCard publishableKey={config.stripePublishableKey} hasDefault={hasDefault} />
      </Suspense>
    );
  }
  return <TestCardAdder config={config} hasDefault={hasDefault} />;
}

function TestCardAdder({ config, hasDefault }: { config: PublicConfig; hasDefault: boolean }) {
  const setupIntent = useCreateSetupIntent();
  const setDefault = useSetDefaultPaymentMethod();
  const refresh = useRefreshPaymentMethods();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [added, setAdded] = useState<string | null>(null);

  async function add(cardToken: string) {
    setBusy(true);
    setError(null);
    setAdded(null);
    try {
      const intent = await setupIntent.mutateAsync();
      const { paymentMethodId } = await confirmSetupIntentWithTestCard({
        stripeUrl: config.stripeFakeUrl,
        publishableKey: config.stripeFakePublishableKey,
        setupIntentId: intent.id,
        clientSecret: intent.client_secret,
        cardToken,
        returnUrl: `${window.location.origin}/billing`,
      });
      if (!hasDefault) await setDefault.mutateAsync(paymentMethodId);
      await refresh();
      setAdded(paymentMethodId);
    } catch (cause) {
      setError(cause);
    } finally {
      setBusy(false);
    }
  }

  return <TestCardPicker cards={TEST_CARDS} onAdd={(token) => void add(token)} busy={busy} error={error} added={added} />;
}
