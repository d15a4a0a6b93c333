"use client";

import type { Invoice } from "@/api/types";
import { useInvoices } from "@/client/hooks/queries";
import type { PublicConfig } from "@/lib/public-config";
import { InvoicesPanel } from "./InvoicesPanel";
import { fromQuery, ready } from "./loadable";
import { useInvoicePayment } from "./useInvoicePayment";

/** The invoice table's workflow: pages ("Load more") and "Pay now" with the default card. */
export function InvoicesSection({ canManage, config }: { canManage: boolean; config: PublicConfig }) {
  const invoicesQuery = useInvoices();
  const payment = useInvoicePayment(config);

  return (
    <InvoicesPanel
      // Loaded pages stay shown when only "Load more" failed; that failure shows by the button.
      invoices={invoicesQuery.data ? ready(invoicesQuery.data) : fromQuery<Invoice[]>(invoicesQuery)}
      canManage={canManage}
      hasMore={invoicesQuery.hasNextPage}
      onLoadMore={() => void invoicesQuery.fetchNextPage()}
      loadingMore={invoicesQuery.isFetchingNextPage}
      loadMoreError={invoicesQuery.isFetchNextPageError ? invoicesQuery.error : null}
      onPay={payment.payNow}
      paying={payment.paying}
      outcome={payment.outcome}
    />
  );
}
