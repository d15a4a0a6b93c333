"use client";

import { useState } from "react";
import type { Invoice } from "@/api/types";
import { useAwaitChangeApplied, usePayInvoice } from "@/client/hooks/mutations";
import { useInvoices, useSubscription } from "@/client/hooks/queries";
import { describeError } from "@/lib/errors";
import type { PublicConfig } from "@/lib/public-config";
import { InvoicesPanel, type InvoicePaymentOutcome } from "./InvoicesPanel";
import { fromQuery, ready } from "./loadable";
import { PaymentAuthentication } from "./PaymentAuthentication";

/** "Pay now" in the making: the bank's challenge waits for this client secret. */
type PaymentState =
  | { kind: "authenticate"; invoice: Invoice; clientSecret: string }
  | Exclude<InvoicePaymentOutcome, { kind: "authenticate" }>;

/**
 * The invoice table's workflow: pages ("Load more") and "Pay now" with the default card. When the
 * bank asks for 3-D Secure the customer authenticates here, as in a plan change. Paying the invoice
 * of a plan change that waits for payment applies that change: the subscription is then asked again
 * until the webhooks have brought it in.
 */
export function InvoicesSection({ canManage, config }: { canManage: boolean; config: PublicConfig }) {
  const invoicesQuery = useInvoices();
  const subscriptionQuery = useSubscription();
  const pay = usePayInvoice();
  const awaitApplied = useAwaitChangeApplied();
  const [payment, setPayment] = useState<PaymentState | null>(null);

  const paid = async (invoice: Invoice) => {
    if (subscriptionQuery.data?.pending_payment?.invoice_id !== invoice.id) {
      setPayment({ kind: "paid", invoice });
      // After a challenge no mutation refreshed yet; after a plain payment this is a cheap repeat.
      void invoicesQuery.refetch();
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

  const payNow = async (invoice: Invoice) => {
    setPayment(null);
    awaitApplied.reset();
    try {
      const answer = await pay.mutateAsync(invoice.id);
      if (answer.requires_action && answer.client_secret) {
        setPayment({ kind: "authenticate", invoice: answer.invoice, clientSecret: answer.client_secret });
      } else {
        await paid(answer.invoice);
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
              onAuthenticated={() => void paid(payment.invoice)}
              onFailed={(error) => {
                setPayment({ kind: "authentication_failed", invoice: payment.invoice, error });
                void invoicesQuery.refetch();
              }}
            />
          ),
        }
      : payment;

  return (
    <InvoicesPanel
      // Loaded pages stay shown when only "Load more" failed; that failure shows by the button.
      invoices={invoicesQuery.data ? ready(invoicesQuery.data) : fromQuery<Invoice[]>(invoicesQuery)}
      canManage={canManage}
      hasMore={invoicesQuery.hasNextPage}
      onLoadMore={() => void invoicesQuery.fetchNextPage()}
      loadingMore={invoicesQuery.isFetchingNextPage}
      loadMoreError={invoicesQuery.isFetchNextPageError ? invoicesQuery.error : null}
      onPay={(invoice) => void payNow(invoice)}
      paying={pay.isPending ? (pay.variables ?? null) : null}
      outcome={outcome}
    />
  );
}
