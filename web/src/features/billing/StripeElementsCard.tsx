"use client";

import { Elements, PaymentElement } from "@stripe/react-stripe-js";
import { loadStripe } from "@stripe/stripe-js/pure";
import { useMemo, useState } from "react";
import { useCreateSetupIntent, useFinishAddingCard } from "@/client/hooks/mutations";
import { useConfirmCardSetup } from "@/client/hooks/stripe-elements";
import { ActionError, Notice } from "./ui";

/**
 * Adds a card with Stripe Elements: a SetupIntent from the API (through the BFF), the Payment
 * Element, then `stripe.confirmSetup` in the browser (3-D Secure included). The form closes once
 * Stripe has the card, since its SetupIntent cannot be confirmed twice; finishing the card (the
 * default, the refresh) is shown here.
 */
export default function StripeElementsCard({ publishableKey, hasDefault }: { publishableKey: string; hasDefault: boolean }) {
  const stripePromise = useMemo(() => loadStripe(publishableKey), [publishableKey]);
  const setupIntent = useCreateSetupIntent();
  const finish = useFinishAddingCard();
  const [clientSecret, setClientSecret] = useState<string | null>(null);

  if (!clientSecret) {
    const busy = setupIntent.isPending || finish.isPending;
    return (
      <div className="add-card stack">
        <h3>Add a card</h3>
        {finish.isSuccess ? <Notice tone="success">Card added.</Notice> : null}
        <div className="row">
          <button
            type="button"
            className="primary"
            disabled={busy}
            aria-busy={busy}
            onClick={() =>
              void setupIntent
                .mutateAsync()
                .then((intent) => {
                  finish.reset();
                  setClientSecret(intent.client_secret);
                })
                // The hook keeps the error; it is shown below.
                .catch(() => undefined)
            }
          >
            {setupIntent.isPending ? "Preparing…" : finish.isPending ? "Saving card…" : "Add a card"}
          </button>
        </div>
        <ActionError error={setupIntent.error ?? finish.error} />
      </div>
    );
  }
  return (
    <Elements stripe={stripePromise} options={{ clientSecret }}>
      <ElementsForm
        onConfirmed={(paymentMethodId) => {
          setClientSecret(null);
          finish.mutate({ paymentMethodId, makeDefault: !hasDefault });
        }}
        onCancel={() => setClientSecret(null)}
      />
    </Elements>
  );
}

function ElementsForm({ onConfirmed, onCancel }: { onConfirmed: (paymentMethodId: string) => void; onCancel: () => void }) {
  const confirm = useConfirmCardSetup();
  return (
    <form
      className="add-card stack"
      aria-label="Add a card"
      onSubmit={(event) => {
        event.preventDefault();
        confirm.mutate(undefined, { onSuccess: onConfirmed });
      }}
    >
      <h3>Add a card</h3>
      <PaymentElement />
      <div className="row">
        <button type="submit" className="primary" disabled={!confirm.ready || confirm.isPending} aria-busy={confirm.isPending}>
          {confirm.isPending ? "Saving card…" : "Save card"}
        </button>
        <button type="button" onClick={onCancel} disabled={confirm.isPending}>
          Cancel
        </button>
      </div>
      <ActionError error={confirm.error} />
    </form>
  );
}
