import type { ReactNode } from "react";
import type { OpenInvoice, PaymentMethod } from "@/api/types";
import { brandName, formatMoney } from "@/lib/format";
import { PaymentOutcome, paymentUnderWay, PayNowButton, payableOpenInvoice, type InvoicePaymentOutcome, type PayableInvoice } from "./InvoicePayment";
import type { Loadable } from "./loadable";
import { ActionError, EmptyState, Load, Panel, ReadOnlyNote } from "./ui";

export interface PaymentMethodsPanelProps {
  paymentMethods: Loadable<PaymentMethod[]>;
  canManage: boolean;
  onSetDefault: (id: string) => void;
  onRemove: (id: string) => void;
  /** The card an action is running for. */
  pending: { action: "default" | "remove"; id: string } | null;
  actionError?: unknown;
  /** The add-card form (test-card picker or Stripe Elements), shown to owners and admins. */
  addCard?: ReactNode;
  /** After a new default card: the subscription's unpaid invoice it can pay now. */
  openInvoiceOffer?: InvoiceOffer | null;
  onPay: (invoice: PayableInvoice) => void;
  /** The invoice whose payment request is running. */
  payingInvoice: string | null;
  paymentOutcome?: InvoicePaymentOutcome | null;
}

/** A new default card's answer: the subscription's unpaid invoice, and that card, which can pay it now. */
export interface InvoiceOffer {
  invoice: OpenInvoice;
  card: PaymentMethod;
}

export function cardName(pm: PaymentMethod): string {
  return `${brandName(pm.brand)} ending in ${pm.last4}`;
}

/** "Visa •••• 4242", as the card list shows it. */
export function cardLabel(pm: PaymentMethod): string {
  return `${brandName(pm.brand)} •••• ${pm.last4}`;
}

export function PaymentMethodsPanel({
  paymentMethods,
  canManage,
  onSetDefault,
  onRemove,
  pending,
  actionError,
  addCard,
  openInvoiceOffer,
  onPay,
  payingInvoice,
  paymentOutcome,
}: PaymentMethodsPanelProps) {
  return (
    <Panel id="payment-methods" title="Payment methods">
      <Load value={paymentMethods} what="Payment methods">
        {(list) =>
          list.length === 0 ? (
            <EmptyState>
              <p>No cards on file.{canManage ? " Add one to start or pay for a subscription." : ""}</p>
            </EmptyState>
          ) : (
            <ul className="cards" aria-label="Cards on file">
              {list.map((pm) => (
                <li key={pm.id} className="card-row" data-testid="payment-method" data-pm-id={pm.id}>
                  <span className="card-name">{cardLabel(pm)}</span>
                  <span className="muted">
                    Expires {String(pm.exp_month).padStart(2, "0")}/{pm.exp_year}
                  </span>
                  {pm.is_default ? <span className="badge default">Default</span> : null}
                  {canManage ? (
                    <span className="row end">
                      {!pm.is_default ? (
                        <button
                          type="button"
                          onClick={() => onSetDefault(pm.id)}
                          disabled={pending !== null}
                          aria-label={`Make ${cardName(pm)} the default`}
                          aria-busy={pending?.action === "default" && pending.id === pm.id}
                        >
                          {pending?.action === "default" && pending.id === pm.id ? "Saving…" : "Set as default"}
                        </button>
                      ) : null}
                      <button
                        type="button"
                        className="danger"
                        onClick={() => onRemove(pm.id)}
                        disabled={pending !== null}
                        aria-label={`Remove ${cardName(pm)}`}
                        aria-busy={pending?.action === "remove" && pending.id === pm.id}
                      >
                        {pending?.action === "remove" && pending.id === pm.id ? "Removing…" : "Remove"}
                      </button>
                    </span>
                  ) : null}
                </li>
              ))}
            </ul>
          )
        }
      </Load>
      {openInvoiceOffer ? (
        <OpenInvoiceOffer offer={openInvoiceOffer} onPay={onPay} busy={paymentUnderWay(payingInvoice, paymentOutcome)} paying={payingInvoice === openInvoiceOffer.invoice.id} />
      ) : null}
      {paymentOutcome ? <PaymentOutcome key={`${paymentOutcome.kind}:${paymentOutcome.invoice.id}`} outcome={paymentOutcome} /> : null}
      <ActionError error={actionError} />
      {canManage ? addCard : <ReadOnlyNote>Only owners and admins can add, remove or change cards.</ReadOnlyNote>}
    </Panel>
  );
}

/** The set-default answer named an unpaid invoice: offer to pay it with the new default card (never paid unasked). */
function OpenInvoiceOffer({
  offer: { invoice, card },
  onPay,
  busy,
  paying,
}: {
  offer: InvoiceOffer;
  onPay: (invoice: PayableInvoice) => void;
  busy: boolean;
  paying: boolean;
}) {
  const payable = payableOpenInvoice(invoice);
  return (
    <div className="notice notice-info stack" role="status" data-testid="open-invoice-offer">
      <p>
        Your subscription has an unpaid invoice of <strong>{formatMoney(payable.amount, payable.currency)}</strong>. Pay it now with{" "}
        <strong>{cardLabel(card)}</strong>?
      </p>
      <div className="row">
        <PayNowButton invoice={payable} onPay={onPay} paying={paying} disabled={busy} />
      </div>
    </div>
  );
}
