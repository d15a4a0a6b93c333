"use client";

import { lazy, Suspense } from "react";
import { TEST_CARDS } from "@/client/fetchers/stripe-test-cards";
import { useAddTestCard } from "@/client/hooks/mutations";
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
  const addCard = useAddTestCard(config);
  return (
    <TestCardPicker
      cards={TEST_CARDS}
      onAdd={(cardToken) => addCard.mutate({ cardToken, makeDefault: !hasDefault })}
      busy={addCard.isPending}
      error={addCard.error}
      added={addCard.data}
    />
  );
}
