"use client";

import { Elements, PaymentElement, useElements, useStripe } from "@stripe/react-stripe-js";
import { loadStripe } from "@stripe/stripe-js/pure";
import { useMemo, useState } from "react";
import { useCreateSetupIntent, useRefreshPaymentMethods, useSetDefaultPaymentMethod } from "@/client/hooks/mutations";
import { ActionError, Notice } from "./ui";

/**
 * Adds a card with Stripe Elements: a SetupIntent from the API (through the BFF), the Payment
 * Element, then `stripe.confirmSetup` in the browser (3-D Secure included).
 */
export default function StripeElementsCard({ publishableKey, hasDefault }: { publishableKey: string; hasDefault: boolean }) {
  const stripePromise = useMemo(() => loadStripe(publishableKey), [publishableKey]);
  const setupIntent = useCreateSetupIntent();
  const [clientSecret, setClientSecret] = useState<string | null>(null);
  const [added, setAdded] = useState(false);

  if (!clientSecret) {
    return (
      <div className="add-card stack">
        <h3>Add a card</h3>
        {added ? <Notice tone="success">Card added.</Notice> : null}
        <div className="row">
          <button
            type="button"
            className="primary"
            disabled={setupIntent.isPending}
            aria-busy={setupIntent.isPending}
            onClick={() =>
              void setupIntent
                .mutateAsync()
                .then((intent) => {
                  setAdded(false);
                  setClientSecret(intent.client_secret);
                })
                .catch(() => undefined)
            }
          >
            {setupIntent.isPending ? "Preparing…" : "Add a card"}
          </button>
        </div>
        <ActionError error={setupIntent.error} />
      </div>
    );
  }
  return (
    <Elements stripe={stripePromise} options={{ clientSecret }}>
      <ElementsForm
        hasDefault={hasDefault}
        onDone={() => {
          setClientSecret(null);
          setAdded(true);
        }}
        onCancel={() => setClientSecret(null)}
      />
    </Elements>
  );
}

function ElementsForm({ hasDefault, onDone, onCancel }: { hasDefault: boolean; onDone: () => void; onCancel: () => void }) {
  const stripe = useStripe();
  const setDefault = useSetDefaultPaymentMethod();
  const elements = useElements();
  const refresh = useRefreshPaymentMethods();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ code: string; message: string } | null>(null);

  return (
    <form
      className="add-card stack"
      aria-label="Add a card"
      onSubmit={async (event) => {
        event.preventDefault();
        if (!stripe || !elements) return;
        setBusy(true);
        setError(null);
        const result = await stripe.confirmSetup({
          elements,
          redirect: "if_required",
          confirmParams: { return_url: window.location.href },
        });
        setBusy(false);
        if (result.error) {
          setError({ code: result.error.code ?? result.error.type, message: result.error.message ?? "The card was refused." });
          return;
        }
        const paymentMethod = result.setupIntent.payment_method;
        const paymentMethodId = typeof paymentMethod === "string" ? paymentMethod : paymentMethod?.id;
        if (!hasDefault && paymentMethodId) await setDefault.mutateAsync(paymentMethodId).catch(() => undefined);
        await refresh();
        onDone();
      }}
    >
      <h3>Add a card</h3>
      <PaymentElement />
      <div className="row">
        <button type="submit" className="primary" disabled={!stripe || busy} aria-busy={busy}>
          {busy ? "Saving card…" : "Save card"}
        </button>
        <button type="button" onClick={onCancel} disabled={busy}>
          Cancel
        </button>
      </div>
      <ActionError error={error} />
    </form>
  );
}
