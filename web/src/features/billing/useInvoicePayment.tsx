"use client";

import { useState } from "react";
import { useAwaitChangeApplied, usePayInvoice, useRefreshBilling } from "@/client/hooks/mutations";
import { useSubscription } from "@/client/hooks/queries";
import { describeError } from "@/lib/errors";
import type { PublicConfig } from "@/lib/public-config";
import type { InvoicePaymentOutcome, PayableInvoice } from "./InvoicePayment";
import { PaymentAuthentication } from "./PaymentAuthentication";

/** "Pay now" in the making: the bank's challenge waits for this client secret. */
type PaymentState =
  | { kind: "authenticate"; invoice: PayableInvoice; clientSecret: string }
  | Exclude<InvoicePaymentOutcome, { kind: "authenticate" }>;

/**
 * "Pay now" with the default card, the one workflow of every place that offers it (the invoice
 * table, the past-due banner, the offer after a new default card). When the bank asks for 3-D
 * Secure the customer authenticates in place, as in a plan change. Every billing answer is
 * refreshed after a payment (paid or declined), so the subscription and the invoices show it.
 * Paying the invoice of a plan change that waits for payment applies that change: the subscription
 * is then asked again until the webhooks have brought it in.
 */
export function useInvoicePayment(config: PublicConfig) {
  const subscriptionQuery = useSubscription();
  const pay = usePayInvoice();
  const awaitApplied = useAwaitChangeApplied();
  const refreshBilling = useRefreshBilling();
  const [payment, setPayment] = useState<PaymentState | null>(null);

  /** `refresh`: no mutation refreshed yet (after a challenge; a plain payment's mutation did). */
  const paid = async (invoice: PayableInvoice, { refresh }: { refresh: boolean }) => {
    if (subscriptionQuery.data?.pending_payment?.invoice_id !== invoice.id) {
      setPayment({ kind: "paid", invoice });
      if (refresh) await refreshBilling();
      return;
    }
    setPayment({ kind: "applying", invoice });
    try {
      await awaitApplied.mutateAsync();
      setPayment({ kind: "paid", invoice });
    } catch (error) {
      // Paid, but the webhooks are late: say so rather than call the payment failed.
      setPayment({ kind: "paid", invoice, note: describeError(error).message });
    }
  };

  const payNow = async (invoice: PayableInvoice) => {
    setPayment(null);
    awaitApplied.reset();
    try {
      const answer = await pay.mutateAsync(invoice.id);
      if (answer.requires_action && answer.client_secret) {
        setPayment({ kind: "authenticate", invoice, clientSecret: answer.client_secret });
      } else {
        await paid(invoice, { refresh: false });
      }
    } catch (error) {
      setPayment({ kind: "refused", invoice, error });
    }
  };

  const outcome: InvoicePaymentOutcome | null =
    payment?.kind === "authenticate"
      ? {
          kind: "authenticate",
          invoice: payment.invoice,
          challenge: (
            <PaymentAuthentication
              config={config}
              clientSecret={payment.clientSecret}
              onAuthenticated={() => void paid(payment.invoice, { refresh: true })}
              onFailed={(error) => {
                setPayment({ kind: "authentication_failed", invoice: payment.invoice, error });
                void refreshBilling();
              }}
            />
          ),
        }
      : payment;

  return {
    payNow: (invoice: PayableInvoice) => void payNow(invoice),
    /** The invoice whose payment request is running. */
    paying: pay.isPending ? (pay.variables ?? null) : null,
    outcome,
    /** Forgets the last outcome (another action was asked for). */
    reset: () => setPayment(null),
  };
}
