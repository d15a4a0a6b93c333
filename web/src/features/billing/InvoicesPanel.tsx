import type { ReactNode } from "react";
import type { Invoice } from "@/api/types";
import { declineReason, describeError } from "@/lib/errors";
import { formatDate, formatMoney } from "@/lib/format";
import type { Loadable } from "./loadable";
import { ActionError, AuthenticationStep, EmptyState, ErrorDetails, Load, LoadingState, Notice, Panel, useFocusOnMount } from "./ui";

/**
 * Where the last "Pay now" stands: the bank's 3-D Secure challenge (`challenge`: Stripe.js or the
 * test stand-in), paid (and, when it paid a plan change, that change being applied), or refused
 * (declined card, failed authentication, an invoice no longer open, …).
 */
export type InvoicePaymentOutcome =
  | { kind: "authenticate"; invoice: Invoice; challenge: ReactNode }
  | { kind: "applying"; invoice: Invoice }
  | { kind: "paid"; invoice: Invoice; note?: string }
  | { kind: "authentication_failed"; invoice: Invoice; error: unknown }
  | { kind: "refused"; invoice: Invoice; error: unknown };

export interface InvoicesPanelProps {
  invoices: Loadable<Invoice[]>;
  canManage: boolean;
  /** Another page follows the ones shown. */
  hasMore: boolean;
  onLoadMore: () => void;
  loadingMore: boolean;
  loadMoreError?: unknown;
  onPay: (invoice: Invoice) => void;
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

/** The invoice's number, or its id while it has none (a draft). */
export function invoiceName(invoice: Invoice): string {
  return invoice.number ?? invoice.id;
}

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
  // One payment at a time: the buttons wait while a request or a bank's challenge is under way.
  const busy = paying !== null || outcome?.kind === "authenticate" || outcome?.kind === "applying";
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
                    <button
                      type="button"
                      className="primary"
                      onClick={() => onPay(invoice)}
                      disabled={busy}
                      aria-label={`Pay now for invoice ${name}, ${formatMoney(invoice.amount_remaining, invoice.currency)}`}
                      aria-busy={paying === invoice.id}
                    >
                      {paying === invoice.id ? "Paying…" : "Pay now"}
                    </button>
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

function PaymentOutcome({ outcome }: { outcome: InvoicePaymentOutcome }) {
  const name = invoiceName(outcome.invoice);
  switch (outcome.kind) {
    case "authenticate":
      return (
        <AuthenticationStep>
          <p>
            Your bank asks you to confirm the payment of{" "}
            <strong>{formatMoney(outcome.invoice.amount_remaining, outcome.invoice.currency)}</strong> for invoice <strong>{name}</strong>.
            Until it is confirmed, the invoice stays open.
          </p>
          {outcome.challenge}
        </AuthenticationStep>
      );
    case "applying":
      return <LoadingState label={`Invoice ${name} paid. Applying the plan change it pays for…`} />;
    case "paid":
      return (
        <Notice tone="success" testId="invoice-paid">
          Invoice {name} paid.{outcome.note ? ` ${outcome.note}` : null}
        </Notice>
      );
    case "authentication_failed":
      return <PaymentRefused title={`Authentication failed; invoice ${name} was not paid.`} error={outcome.error} tryAgain />;
    case "refused": {
      const shown = describeError(outcome.error);
      return shown.code === "payment_failed" ? (
        <PaymentRefused title={`Your card was declined; invoice ${name} was not paid.`} reason={declineReason(shown.declineCode)} error={outcome.error} tryAgain />
      ) : (
        <PaymentRefused title={shown.message} error={outcome.error} />
      );
    }
  }
}

/** A payment that did not go through, and what to do; focus moves here so it is heard at once. */
function PaymentRefused({ title, reason, error, tryAgain = false }: { title: string; reason?: string; error: unknown; tryAgain?: boolean }) {
  const alert = useFocusOnMount<HTMLDivElement>();
  const shown = describeError(error);
  return (
    <div className="action-error" role="alert" tabIndex={-1} ref={alert} data-testid="invoice-payment-refused" data-error-code={shown.code}>
      <p>
        <strong>{title}</strong>
        {reason ? ` ${reason}` : null}
      </p>
      {tryAgain ? (
        <p>
          Choose another default card under <a href="#payment-methods-title">Payment methods</a> and try again.
        </p>
      ) : null}
      <ErrorDetails code={shown.code} requestId={shown.requestId} />
    </div>
  );
}
