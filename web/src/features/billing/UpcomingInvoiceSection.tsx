"use client";

import type { InvoicePreview, Subscription } from "@/api/types";
import { useSubscription, useUpcomingInvoice } from "@/client/hooks/queries";
import { formatDate } from "@/lib/format";
import { failed, fromQuery, loading, ready, type Loadable } from "./loadable";
import { UpcomingInvoicePanel } from "./UpcomingInvoicePanel";

/** Why a subscription (or its absence) has no upcoming invoice, in the reader's terms. */
function noInvoiceReason(subscription: Subscription | null): string {
  if (!subscription) return "No subscription, so nothing is billed.";
  if (subscription.cancel_at_period_end) return `The subscription cancels on ${formatDate(subscription.current_period_end)}; no further invoices.`;
  if (subscription.status === "incomplete") return "The first invoice is waiting for payment.";
  return "No upcoming invoice.";
}

/** The upcoming-invoice panel's workflow: asked for only when the API says there is one. */
export function UpcomingInvoiceSection() {
  const subscriptionQuery = useSubscription();
  const upcomingQuery = useUpcomingInvoice(subscriptionQuery.data);
  const subscription = fromQuery(subscriptionQuery);

  let invoice: Loadable<InvoicePreview | null>;
  let emptyReason: string | undefined;
  if (subscription.status === "loading") invoice = loading;
  else if (subscription.status === "error") invoice = failed(subscription.error, subscription.onRetry);
  else if (subscription.data?.has_upcoming_invoice) invoice = fromQuery(upcomingQuery);
  else {
    invoice = ready(null);
    emptyReason = noInvoiceReason(subscription.data);
  }
  return <UpcomingInvoicePanel invoice={invoice} emptyReason={emptyReason} />;
}
