import { useEffect, useId, useRef, useState, type ReactNode } from "react";
import type { Plan, Subscription } from "@/api/types";
import { declineReason, describeError } from "@/lib/errors";
import { formatDate, formatDateTime, formatMoney } from "@/lib/format";
import { PaymentOutcome, paymentUnderWay, PayNowButton, payableOpenInvoice, type InvoicePaymentOutcome, type PayableInvoice } from "./InvoicePayment";
import type { Loadable } from "./loadable";
import { planLabel, STATUS_LABELS } from "./plans";
import {
  ActionError,
  AuthenticationStep,
  EmptyState,
  ErrorDetails,
  Load,
  LoadingState,
  Notice,
  Panel,
  PendingInvoice,
  ReadOnlyNote,
  useFocusOnMount,
} from "./ui";

/**
 * A start whose first payment the bank asked to authenticate (3-D Secure), and where that stands:
 * the bank's challenge (`challenge`: Stripe.js or the test stand-in), the subscription being made
 * active once paid, started, or a failed challenge (the subscription waits for payment, `incomplete`).
 */
export type FirstPaymentStep =
  | { step: "authenticate"; challenge: ReactNode }
  | { step: "activating" }
  | { step: "started" }
  | { step: "failed"; error: unknown };

export interface SubscriptionPanelProps {
  subscription: Loadable<Subscription | null>;
  plans: Loadable<Plan[]>;
  canManage: boolean;
  hasPaymentMethod: boolean;
  onStart: (plan: string) => void;
  onCancel: () => void;
  onResume: () => void;
  /** Which action is running. */
  pending: "start" | "cancel" | "resume" | null;
  actionError?: unknown;
  /** The first payment of a start that waits for the customer's bank, or what became of it. */
  firstPayment?: FirstPaymentStep | null;
  /** "Pay now" for the open invoice (the past-due banner). */
  onPay: (invoice: PayableInvoice) => void;
  /** The invoice whose payment request is running. */
  payingInvoice: string | null;
  paymentOutcome?: InvoicePaymentOutcome | null;
}

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge status-${status}`}>{STATUS_LABELS[status] ?? status}</span>;
}

export function SubscriptionPanel(props: SubscriptionPanelProps) {
  const { subscription, plans } = props;
  return (
    <Panel id="subscription" title="Plan and subscription">
      <Load value={subscription} what="Subscription">
        {(current) => (
          <Load value={plans} what="Plans">
            {(planList) =>
              current && current.status !== "canceled" && current.status !== "incomplete_expired" ? (
                <CurrentSubscription {...props} current={current} planList={planList} />
              ) : (
                <NoSubscription {...props} ended={current} planList={planList} />
              )
            }
          </Load>
        )}
      </Load>
    </Panel>
  );
}

function CurrentSubscription({
  current,
  planList,
  canManage,
  onCancel,
  onResume,
  pending,
  actionError,
  firstPayment,
  onPay,
  payingInvoice,
  paymentOutcome,
}: SubscriptionPanelProps & { current: Subscription; planList: Plan[] }) {
  const [confirmingCancel, setConfirmingCancel] = useState(false);
  const end = formatDate(current.current_period_end);
  const plan = planLabel(planList, current.plan);
  const refusal = describeError(actionError);
  // Only a start charges here: a 402 is its declined first payment.
  const declined = refusal.code === "payment_failed";
  return (
    <>
      <dl className="facts">
        <div>
          <dt>Plan</dt>
          <dd data-testid="current-plan">{plan}</dd>
        </div>
        <div>
          <dt>Status</dt>
          <dd>
            <StatusBadge status={current.status} />
          </dd>
        </div>
        {current.quantity > 1 ? (
          <div>
            <dt>Seats</dt>
            <dd>{current.quantity}</dd>
          </div>
        ) : null}
        <div>
          <dt>Current period</dt>
          <dd>
            {formatDate(current.current_period_start)} – {end}
          </dd>
        </div>
        <div>
          <dt>{current.cancel_at_period_end ? "Cancels on" : current.status === "trialing" ? "Trial ends on" : "Renews on"}</dt>
          <dd data-testid="renewal-date">{end}</dd>
        </div>
      </dl>
      {firstPayment?.step === "started" ? (
        <Notice tone="success" testId="subscription-started">
          Subscription started: you are on <strong>{plan}</strong>.
        </Notice>
      ) : firstPayment?.step === "failed" ? (
        <FirstPaymentRefused title="Authentication failed; the first payment was not completed." error={firstPayment.error} plan={plan} />
      ) : declined ? (
        <FirstPaymentRefused
          title="Your card was declined; the first payment was not made."
          reason={declineReason(refusal.declineCode)}
          error={actionError}
          plan={plan}
          declined
        />
      ) : null}
      {firstPayment?.step === "authenticate" ? (
        <AuthenticationStep title="Authenticate the first payment">
          <p>
            Your bank asks you to confirm the first payment
            {current.open_invoice ? (
              <>
                {" "}
                of <strong>{formatMoney(current.open_invoice.amount_due, current.open_invoice.currency)}</strong>
              </>
            ) : null}{" "}
            for <strong>{plan}</strong>. Until it is confirmed, the subscription waits for payment and is not active.
          </p>
          {firstPayment.challenge}
        </AuthenticationStep>
      ) : firstPayment?.step === "activating" ? (
        <LoadingState label="Payment confirmed. Starting the subscription…" />
      ) : (
        <PaymentProblem subscription={current} canManage={canManage} onPay={onPay} payingInvoice={payingInvoice} paymentOutcome={paymentOutcome} />
      )}
      {paymentOutcome ? <PaymentOutcome key={`${paymentOutcome.kind}:${paymentOutcome.invoice.id}`} outcome={paymentOutcome} /> : null}
      {current.pending_payment ? (
        <Notice announce testId="pending-payment">
          Change to <strong>{planLabel(planList, current.pending_payment.plan)}</strong> waits for payment of{" "}
          <PendingInvoice id={current.pending_payment.invoice_id} /> until <strong>{formatDateTime(current.pending_payment.expires_at)}</strong>.
          {canManage ? (
            <>
              {" "}
              Pay it under <a href="#invoices-title">Invoices</a>.
            </>
          ) : null}
        </Notice>
      ) : null}
      {current.cancel_at_period_end ? (
        <Notice tone="warning">
          This subscription cancels on <strong>{end}</strong>. Until then everything keeps working.
        </Notice>
      ) : null}
      {canManage ? (
        <div className="row">
          {!current.can_change_plan ? null : current.cancel_at_period_end ? (
            <button type="button" className="primary" onClick={onResume} disabled={pending !== null} aria-busy={pending === "resume"}>
              {pending === "resume" ? "Resuming…" : "Resume subscription"}
            </button>
          ) : confirmingCancel ? (
            <ConfirmCancel
              end={end}
              disabled={pending !== null}
              onConfirm={() => {
                setConfirmingCancel(false);
                onCancel();
              }}
              onKeep={() => setConfirmingCancel(false)}
            />
          ) : (
            <button type="button" onClick={() => setConfirmingCancel(true)} disabled={pending !== null} aria-busy={pending === "cancel"}>
              {pending === "cancel" ? "Cancelling…" : "Cancel subscription…"}
            </button>
          )}
        </div>
      ) : (
        <ReadOnlyNote>Only owners and admins can cancel or resume the subscription.</ReadOnlyNote>
      )}
      {declined ? null : <ActionError error={actionError} />}
    </>
  );
}

/**
 * A start's first payment that did not go through (declined, or the bank's challenge failed): the
 * subscription exists, `incomplete`, until its open invoice is paid (the banner below). Focus moves here.
 */
function FirstPaymentRefused({
  title,
  reason,
  error,
  plan,
  declined = false,
}: {
  title: string;
  reason?: string;
  error: unknown;
  plan: string;
  declined?: boolean;
}) {
  const alert = useFocusOnMount<HTMLDivElement>();
  const shown = describeError(error);
  const cards = <a href="#payment-methods-title">Payment methods</a>;
  return (
    <div className="action-error" role="alert" tabIndex={-1} ref={alert} data-testid="first-payment-refused" data-error-code={shown.code}>
      <p>
        <strong>{title}</strong>
        {reason ? ` ${reason}` : null}
      </p>
      <p>
        The <strong>{plan}</strong> subscription waits for payment (incomplete) and is not active until its first invoice is paid.{" "}
        {declined ? (
          <>Choose another default card under {cards}, then pay the invoice with &ldquo;Pay now&rdquo; below.</>
        ) : (
          <>
            To try again, use &ldquo;Pay now&rdquo; below: your bank asks you to confirm the payment again. Or first choose another default card
            under {cards}.
          </>
        )}
      </p>
      <ErrorDetails code={shown.code} requestId={shown.requestId} />
    </div>
  );
}

/**
 * What happened, by the API's `payment_state` where a payment is missing (`can_change_plan` decides
 * the rest); `of` names the open invoice's amount (" of $10.00") when the API sent it.
 */
const PAYMENT_PROBLEMS: Partial<Record<Subscription["payment_state"], (of: string) => string>> = {
  past_due: (of) => `The renewal payment${of} failed.`,
  unpaid: (of) => `The renewal payment${of} failed and Stripe stopped retrying: the subscription stays unpaid until the invoice is paid.`,
  action_required: (of) =>
    `The first payment${of} is not complete, so the subscription is not active yet. Unless it is paid within 23 hours of the start, Stripe ends the subscription.`,
};

/**
 * The past-due banner: what happened to the payment, Stripe's next attempt, the API's access
 * decision, and what to do: another default card, then "Pay now" for the open invoice (owners and
 * admins) or Stripe's own page for it.
 */
function PaymentProblem({
  subscription: { payment_state: state, access, open_invoice: invoice },
  canManage,
  onPay,
  payingInvoice,
  paymentOutcome,
}: { subscription: Subscription } & Pick<SubscriptionPanelProps, "canManage" | "onPay" | "payingInvoice" | "paymentOutcome">) {
  const problem = PAYMENT_PROBLEMS[state];
  if (!problem) return null;
  const payable = invoice ? payableOpenInvoice(invoice) : null;
  const payIt = payable ? (
    "pay now"
  ) : (
    <>
      pay the open invoice under <a href="#invoices-title">Invoices</a>
    </>
  );
  const cardPlaces = (
    <>
      <a href="#payment-methods-title">Payment methods</a> (or in the <a href="#manage-billing-title">Customer Portal</a>)
    </>
  );
  return (
    <div className="notice notice-warning stack" data-testid="payment-problem">
      <p>
        <strong>{problem(payable ? ` of ${formatMoney(payable.amount, payable.currency)}` : "")}</strong>
        {state === "past_due" && invoice ? (
          <span data-testid="next-attempt">
            {" "}
            {invoice.next_payment_attempt != null
              ? `Stripe will retry on ${formatDate(invoice.next_payment_attempt)}.`
              : "Stripe makes no more automatic attempts: the invoice stays open until it is paid."}
          </span>
        ) : null}
      </p>
      <p data-testid="access-decision">
        {access.decision === "grace" && access.grace_until != null
          ? `You keep access until ${formatDate(access.grace_until)}.`
          : access.decision === "blocked"
            ? "Access is paused until the invoice is paid."
            : "Access continues."}
      </p>
      {!canManage ? (
        <p>Ask an owner or admin of the organisation to update the card and pay the invoice.</p>
      ) : state === "action_required" ? (
        // The card may be fine and only the bank's confirmation missing: paying again asks for it.
        <p>
          To complete it, {payIt}; your bank may ask you to confirm the payment. If the card was declined, first add or choose another card
          under {cardPlaces} and make it the default.
        </p>
      ) : (
        <p>
          Add or choose another card under {cardPlaces} and make it the default, then {payIt}.
        </p>
      )}
      {payable ? (
        <div className="row">
          {canManage ? (
            <PayNowButton
              invoice={payable}
              onPay={onPay}
              paying={payingInvoice === payable.id}
              disabled={paymentUnderWay(payingInvoice, paymentOutcome)}
            />
          ) : null}
          {invoice?.hosted_invoice_url ? (
            <a href={invoice.hosted_invoice_url} target="_blank" rel="noopener noreferrer" aria-label={`View invoice ${payable.name} (opens in a new tab)`}>
              View invoice
            </a>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}

/** The cancellation's confirmation step; focus moves to its safe choice. */
function ConfirmCancel({ end, disabled, onConfirm, onKeep }: { end: string; disabled: boolean; onConfirm: () => void; onKeep: () => void }) {
  const keep = useRef<HTMLButtonElement>(null);
  useEffect(() => keep.current?.focus(), []);
  return (
    <div className="confirm" role="group" aria-label="Confirm cancellation">
      <p>Cancel at the end of the current period ({end})? You can resume until then.</p>
      <button type="button" className="danger" onClick={onConfirm} disabled={disabled}>
        Cancel on {end}
      </button>
      <button type="button" ref={keep} onClick={onKeep}>
        Keep subscription
      </button>
    </div>
  );
}

function NoSubscription({
  ended,
  planList,
  canManage,
  hasPaymentMethod,
  onStart,
  pending,
  actionError,
}: SubscriptionPanelProps & { ended: Subscription | null; planList: Plan[] }) {
  const [choice, setChoice] = useState<string>(planList[0]?.plan ?? "");
  const hintId = useId();
  return (
    <>
      <EmptyState>
        {ended ? (
          <p>
            The {planLabel(planList, ended.plan)} subscription ended on {formatDate(ended.current_period_end)}.
            {ended.open_invoice
              ? ` Its last invoice (${ended.open_invoice.id}, ${formatMoney(ended.open_invoice.amount_due, ended.open_invoice.currency)}) was not paid.`
              : null}
          </p>
        ) : (
          <p>This organisation has no subscription yet.</p>
        )}
      </EmptyState>
      {canManage ? (
        planList.length === 0 ? (
          <Notice>No plans are available.</Notice>
        ) : (
          <form
            className="stack"
            onSubmit={(event) => {
              event.preventDefault();
              if (choice) onStart(choice);
            }}
          >
            <fieldset>
              <legend>Choose a plan</legend>
              {planList.map((plan) => (
                <label key={plan.plan} className="choice">
                  <input
                    type="radio"
                    name="start-plan"
                    value={plan.plan}
                    checked={choice === plan.plan}
                    onChange={() => setChoice(plan.plan)}
                  />
                  {planLabel(planList, plan.plan)}
                </label>
              ))}
            </fieldset>
            <div className="row">
              <button
                type="submit"
                className="primary"
                disabled={!hasPaymentMethod || pending !== null || !choice}
                aria-describedby={hintId}
                aria-busy={pending === "start"}
              >
                {pending === "start" ? "Starting…" : "Start subscription"}
              </button>
              <span id={hintId} className="muted">
                {hasPaymentMethod ? "Charged now to the default card." : "Add a card below to start a subscription."}
              </span>
            </div>
          </form>
        )
      ) : (
        <ReadOnlyNote>Only owners and admins can start a subscription.</ReadOnlyNote>
      )}
      <ActionError error={actionError} />
    </>
  );
}
