import type { Invoice } from "@/api/types";
import { formatDate, formatMoney } from "@/lib/format";
import { invoiceName, PaymentOutcome, paymentUnderWay, PayNowButton, payableInvoice, type InvoicePaymentOutcome, type PayableInvoice } from "./InvoicePayment";
import type { Loadable } from "./loadable";
import { ActionError, EmptyState, Load, Panel } from "./ui";

export interface InvoicesPanelProps {
  invoices: Loadable<Invoice[]>;
  canManage: boolean;
  /** Another page follows the ones shown. */
  hasMore: boolean;
  onLoadMore: () => void;
  loadingMore: boolean;
  loadMoreError?: unknown;
  onPay: (invoice: PayableInvoice) => void;
  /** The invoice whose payment request is running. */
  paying: string | null;
  outcome?: InvoicePaymentOutcome | null;
}

const STATUS_LABELS: Record<string, string> = {
  draft: "Draft",
  open: "Open",
  paid: "Paid",
  uncollectible: "Uncollectible",
  void: "Void",
};

/** What "Pay now" is offered for: an invoice Stripe can still collect, with something left to pay. */
export function isPayable(invoice: Invoice): boolean {
  return (invoice.status === "open" || invoice.status === "uncollectible") && invoice.amount_remaining > 0;
}

export function InvoicesPanel(props: InvoicesPanelProps) {
  const { invoices, hasMore, onLoadMore, loadingMore, loadMoreError, outcome } = props;
  return (
    <Panel id="invoices" title="Invoices">
      <Load value={invoices} what="Invoices">
        {(list) =>
          list.length === 0 ? (
            <EmptyState>
              <p>No invoices yet.</p>
            </EmptyState>
          ) : (
            <>
              {outcome ? <PaymentOutcome key={`${outcome.kind}:${outcome.invoice.id}`} outcome={outcome} /> : null}
              <InvoiceTable {...props} list={list} />
              {hasMore ? (
                <div className="row">
                  <button type="button" onClick={onLoadMore} disabled={loadingMore} aria-busy={loadingMore}>
                    {loadingMore ? "Loading more invoices…" : "Load more invoices"}
                  </button>
                </div>
              ) : null}
              <ActionError error={loadMoreError} />
            </>
          )
        }
      </Load>
    </Panel>
  );
}

function InvoiceTable({ list, canManage, onPay, paying, outcome }: InvoicesPanelProps & { list: Invoice[] }) {
  const busy = paymentUnderWay(paying, outcome);
  return (
    <table className="invoice invoices">
      <caption>The organisation&apos;s invoices, newest first</caption>
      <thead>
        <tr>
          <th scope="col">Number</th>
          <th scope="col">Date</th>
          <th scope="col" className="num">
            Amount
          </th>
          <th scope="col">Status</th>
          <th scope="col">Documents</th>
          {canManage ? <th scope="col">Payment</th> : null}
        </tr>
      </thead>
      <tbody>
        {list.map((invoice) => {
          const name = invoiceName(invoice);
          return (
            <tr key={invoice.id} data-testid="invoice" data-invoice-id={invoice.id} data-status={invoice.status}>
              <th scope="row">{name}</th>
              <td>{formatDate(invoice.created)}</td>
              <td className="num">{formatMoney(invoice.total, invoice.currency)}</td>
              <td>
                <span className={`badge invoice-status-${invoice.status}`}>{STATUS_LABELS[invoice.status] ?? invoice.status}</span>
              </td>
              <td>
                <span className="row">
                  {invoice.hosted_invoice_url ? (
                    <a href={invoice.hosted_invoice_url} target="_blank" rel="noopener noreferrer" aria-label={`View invoice ${name} (opens in a new tab)`}>
                      View
                    </a>
                  ) : null}
                  {invoice.invoice_pdf ? (
                    <a href={invoice.invoice_pdf} target="_blank" rel="noopener noreferrer" aria-label={`PDF of invoice ${name} (opens in a new tab)`}>
                      PDF
                    </a>
                  ) : null}
                </span>
              </td>
              {canManage ? (
                <td>
                  {isPayable(invoice) ? (
                    <PayNowButton invoice={payableInvoice(invoice)} onPay={onPay} paying={paying === invoice.id} disabled={busy} />
                  ) : null}
                </td>
              ) : null}
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
