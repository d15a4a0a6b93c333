import type { ReactNode } from "react";
import type { Invoice, OpenInvoice } from "@/api/types";
import { declineReason, describeError } from "@/lib/errors";
import { formatMoney } from "@/lib/format";
import { AuthenticationStep, ErrorDetails, LoadingState, Notice, useFocusOnMount } from "./ui";

/**
 * An invoice "Pay now" is offered for, as its button and outcome name it: a row of the invoice
 * table, or the subscription's open invoice (the past-due banner, the offer after a new default card).
 */
export interface PayableInvoice {
  id: string;
  /** Its number, or its id while it has none. */
  name: string;
  /** What is left to pay, in minor units of `currency`. */
  amount: number;
  currency: string;
}

/** The invoice's number, or its id while it has none (a draft). */
export function invoiceName(invoice: Invoice): string {
  return invoice.number ?? invoice.id;
}

export function payableInvoice(invoice: Invoice): PayableInvoice {
  return { id: invoice.id, name: invoiceName(invoice), amount: invoice.amount_remaining, currency: invoice.currency };
}

/** The subscription's open invoice (the API names it by id only). */
export function payableOpenInvoice(invoice: OpenInvoice): PayableInvoice {
  return { id: invoice.id, name: invoice.id, amount: invoice.amount_due, currency: invoice.currency };
}

/**
 * Where the last "Pay now" stands: the bank's 3-D Secure challenge (`challenge`: Stripe.js or the
 * test stand-in), paid (and, when it paid a plan change, that change being applied), or refused
 * (declined card, failed authentication, an invoice no longer open, …).
 */
export type InvoicePaymentOutcome =
  | { kind: "authenticate"; invoice: PayableInvoice; challenge: ReactNode }
  | { kind: "applying"; invoice: PayableInvoice }
  | { kind: "paid"; invoice: PayableInvoice; note?: string }
  | { kind: "authentication_failed"; invoice: PayableInvoice; error: unknown }
  | { kind: "refused"; invoice: PayableInvoice; error: unknown };

/** One payment at a time: "Pay now" waits while a request or a bank's challenge is under way. */
export function paymentUnderWay(paying: string | null, outcome: InvoicePaymentOutcome | null | undefined): boolean {
  return paying !== null || outcome?.kind === "authenticate" || outcome?.kind === "applying";
}

/** "Pay now" for one invoice, with the default card; its name says which invoice and how much. */
export function PayNowButton({
  invoice,
  onPay,
  paying,
  disabled,
}: {
  invoice: PayableInvoice;
  onPay: (invoice: PayableInvoice) => void;
  /** This invoice's payment request is running. */
  paying: boolean;
  disabled: boolean;
}) {
  return (
    <button
      type="button"
      className="primary"
      onClick={() => onPay(invoice)}
      disabled={disabled}
      aria-label={`Pay now for invoice ${invoice.name}, ${formatMoney(invoice.amount, invoice.currency)}`}
      aria-busy={paying}
    >
      {paying ? "Paying…" : "Pay now"}
    </button>
  );
}

/** What became of the last "Pay now"; the view of every place that offers one. */
export function PaymentOutcome({ outcome }: { outcome: InvoicePaymentOutcome }) {
  const { name } = outcome.invoice;
  switch (outcome.kind) {
    case "authenticate":
      return (
        <AuthenticationStep>
          <p>
            Your bank asks you to confirm the payment of <strong>{formatMoney(outcome.invoice.amount, outcome.invoice.currency)}</strong> for
            invoice <strong>{name}</strong>. Until it is confirmed, the invoice stays open.
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
          Nothing was charged and the subscription did not change. Choose another default card under{" "}
          <a href="#payment-methods-title">Payment methods</a> and try again.
        </p>
      ) : null}
      <ErrorDetails code={shown.code} requestId={shown.requestId} />
    </div>
  );
}
