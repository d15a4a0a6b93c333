import { useId, type ReactNode } from "react";
import type { InvoicePreview, PendingPayment, Plan, Subscription, Timing } from "@/api/types";
import { declineReason, describeError } from "@/lib/errors";
import { formatDate, formatDateTime, formatMoney } from "@/lib/format";
import { InvoiceLines } from "./InvoiceLines";
import type { Loadable } from "./loadable";
import { planLabel } from "./plans";
import { ActionError, AuthenticationStep, EmptyState, ErrorDetails, Load, LoadingState, Notice, Panel, PendingInvoice, ReadOnlyNote, useFocusOnMount } from "./ui";

export interface PlanChoice {
  plan: string | null;
  timing: Timing;
}

/**
 * A change "now" whose payment needed the customer (3-D Secure), and where that stands: the bank's
 * challenge (`challenge`: Stripe.js or the test stand-in), the change being applied once paid, or a
 * failed challenge (the old plan stays).
 */
export type PaymentStep =
  | { step: "authenticate"; plan: string; amountDue: number; currency: string; challenge: ReactNode }
  | { step: "applying"; plan: string }
  | { step: "failed"; plan: string; error?: unknown };

export interface PlanChangePanelProps {
  subscription: Loadable<Subscription | null>;
  plans: Loadable<Plan[]>;
  canManage: boolean;
  choice: PlanChoice;
  onChoose: (choice: PlanChoice) => void;
  /** The preview of the chosen change; `null` while nothing is chosen. */
  preview: Loadable<InvoicePreview> | null;
  onConfirm: () => void;
  onWithdrawScheduled: () => void;
  pending: "change" | "withdraw" | null;
  actionError?: unknown;
  /** What the last confirmed action did, announced once. */
  result?: string | null;
  /** The payment of a confirmed change that waits for the customer, or what became of it. */
  payment?: PaymentStep | null;
}

export function PlanChangePanel(props: PlanChangePanelProps) {
  return (
    <Panel id="plan-change" title="Change plan">
      <Load value={props.subscription} what="Subscription">
        {(subscription) =>
          subscription?.can_change_plan ? (
            <Load value={props.plans} what="Plans">
              {(plans) => <PlanChange {...props} current={subscription} planList={plans} />}
            </Load>
          ) : (
            <EmptyState>
              <p>Start a subscription to change plans.</p>
            </EmptyState>
          )
        }
      </Load>
    </Panel>
  );
}

function PlanChange({
  current,
  planList,
  canManage,
  choice,
  onChoose,
  preview,
  onConfirm,
  onWithdrawScheduled,
  pending,
  actionError,
  result,
  payment,
}: PlanChangePanelProps & { current: Subscription; planList: Plan[] }) {
  const timingName = useId();
  const periodEnd = formatDate(current.current_period_end);
  const scheduled = current.scheduled_change;
  const others = planList.filter((p) => p.plan !== current.plan);
  return (
    <>
      {scheduled ? (
        <div className="scheduled" data-testid="scheduled-change">
          <p>
            <strong>Scheduled change:</strong> switches to {planLabel(planList, scheduled.plan)} on{" "}
            <strong>{formatDate(scheduled.effective_at)}</strong>. {planLabel(planList, current.plan)} stays until then.
          </p>
          {canManage ? (
            <button type="button" onClick={onWithdrawScheduled} disabled={pending !== null} aria-busy={pending === "withdraw"}>
              {pending === "withdraw" ? "Cancelling scheduled change…" : "Cancel scheduled change"}
            </button>
          ) : null}
        </div>
      ) : null}
      {result ? <Notice tone="success">{result}</Notice> : null}
      {payment?.step === "failed" ? (
        <PaymentRefused
          title="Authentication failed; your plan did not change."
          error={payment.error}
          current={current}
          planList={planList}
        />
      ) : describeError(actionError).code === "payment_failed" ? (
        <PaymentRefused
          title="Your card was declined, so the plan did not change."
          reason={declineReason(describeError(actionError).declineCode)}
          error={actionError}
          current={current}
          planList={planList}
        />
      ) : null}
      {payment?.step === "authenticate" ? (
        <ChangeAuthenticationStep payment={payment} current={current} planList={planList} />
      ) : payment?.step === "applying" ? (
        <LoadingState label={`Payment authenticated. Applying the change to ${planLabel(planList, payment.plan)}…`} />
      ) : !canManage ? (
        <>
          {others.length > 0 ? (
            <ul className="plain-list" aria-label="Other plans">
              {others.map((plan) => (
                <li key={plan.plan}>{planLabel(planList, plan.plan)}</li>
              ))}
            </ul>
          ) : null}
          <ReadOnlyNote>Only owners and admins can change the plan.</ReadOnlyNote>
        </>
      ) : current.cancel_at_period_end ? (
        <Notice>The subscription cancels on {periodEnd}. Resume it to change plans.</Notice>
      ) : others.length === 0 ? (
        <Notice>No other plans are available.</Notice>
      ) : (
        <form
          className="stack"
          aria-label="Change plan"
          onSubmit={(event) => {
            event.preventDefault();
            onConfirm();
          }}
        >
          <fieldset>
            <legend>New plan</legend>
            {others.map((plan) => (
              <label key={plan.plan} className="choice">
                <input
                  type="radio"
                  name="new-plan"
                  value={plan.plan}
                  checked={choice.plan === plan.plan}
                  onChange={() => onChoose({ ...choice, plan: plan.plan })}
                />
                {planLabel(planList, plan.plan)}
              </label>
            ))}
          </fieldset>
          <fieldset>
            <legend>When</legend>
            <label className="choice">
              <input
                type="radio"
                name={timingName}
                value="immediate"
                checked={choice.timing === "immediate"}
                onChange={() => onChoose({ ...choice, timing: "immediate" })}
              />
              Now — prorated, the difference is charged today
            </label>
            <label className="choice">
              <input
                type="radio"
                name={timingName}
                value="period_end"
                checked={choice.timing === "period_end"}
                onChange={() => onChoose({ ...choice, timing: "period_end" })}
              />
              At the end of the current period ({periodEnd})
            </label>
          </fieldset>
          {choice.plan ? (
            <ChangeSummary choice={choice} preview={preview} periodEnd={periodEnd} pending={pending} planList={planList} />
          ) : (
            <p className="muted">Choose a plan to see what it costs.</p>
          )}
        </form>
      )}
      {describeError(actionError).code === "payment_failed" ? null : <ActionError error={actionError} />}
    </>
  );
}

/** The bank asks the customer to authenticate the change's payment. */
function ChangeAuthenticationStep({
  payment,
  current,
  planList,
}: {
  payment: Extract<PaymentStep, { step: "authenticate" }>;
  current: Subscription;
  planList: Plan[];
}) {
  return (
    <AuthenticationStep>
      <p>
        Your bank asks you to confirm the payment of <strong>{formatMoney(payment.amountDue, payment.currency)}</strong> for the change
        to <strong>{planLabel(planList, payment.plan)}</strong>. Until it is confirmed, the plan stays{" "}
        {planLabel(planList, current.plan)}.
      </p>
      {payment.challenge}
    </AuthenticationStep>
  );
}

/**
 * A change "now" whose payment was refused (declined card, failed authentication): the old plan
 * stays, and the change waits for its invoice to be paid until it lapses. Focus moves here.
 */
function PaymentRefused({
  title,
  reason,
  error,
  current,
  planList,
}: {
  title: string;
  reason?: string;
  error?: unknown;
  current: Subscription;
  planList: Plan[];
}) {
  const alert = useFocusOnMount<HTMLDivElement>();
  const shown = error ? describeError(error) : null;
  return (
    <div className="action-error" role="alert" tabIndex={-1} ref={alert} data-testid="payment-refused" data-error-code={shown?.code}>
      <p>
        <strong>{title}</strong>
        {reason ? ` ${reason}` : null}
      </p>
      <p>
        You are still on <strong data-testid="plan-kept">{planLabel(planList, current.plan)}</strong>.
      </p>
      <NextSteps pending={current.pending_payment ?? null} planList={planList} />
      {shown ? <ErrorDetails code={shown.code} requestId={shown.requestId} /> : null}
    </div>
  );
}

/** What to do after a refused payment: another card, then the open invoice, before the change lapses. */
function NextSteps({ pending, planList }: { pending: PendingPayment | null; planList: Plan[] }) {
  const cards = <a href="#payment-methods-title">Payment methods</a>;
  if (!pending) return <p>Add or choose another card under {cards}, then change the plan again.</p>;
  return (
    <p>
      The change to {planLabel(planList, pending.plan)} waits for payment of <PendingInvoice id={pending.invoice_id} />. To
      complete it, add or choose another card under {cards} and pay that invoice under <a href="#invoices-title">Invoices</a>{" "}
      before <strong>{formatDateTime(pending.expires_at)}</strong>; otherwise the change lapses then.
    </p>
  );
}

function ChangeSummary({
  choice,
  preview,
  periodEnd,
  pending,
  planList,
}: {
  choice: PlanChoice;
  preview: Loadable<InvoicePreview> | null;
  periodEnd: string;
  pending: PlanChangePanelProps["pending"];
  planList: Plan[];
}) {
  if (choice.timing === "period_end") {
    return (
      <div className="summary" data-testid="period-end-summary">
        <p>
          Takes effect on <strong>{periodEnd}</strong>: nothing is charged today, and the next invoice bills{" "}
          {planLabel(planList, choice.plan)}. You can cancel the scheduled change until then.
        </p>
        <button type="submit" className="primary" disabled={pending !== null} aria-busy={pending === "change"}>
          {pending === "change" ? "Scheduling…" : `Schedule change for ${periodEnd}`}
        </button>
      </div>
    );
  }
  return (
    <div className="summary" data-testid="proration-preview" aria-live="polite">
      {preview === null ? null : (
        <Load value={preview} what="Proration preview">
          {(invoice) => (
            <>
              <InvoiceLines invoice={invoice} caption="Proration preview: the invoice this change creates now" dueLabel="Due today" />
              <p className="lead">
                Amount due today:{" "}
                <strong data-testid="amount-due-today" data-amount={invoice.amount_due}>
                  {formatMoney(invoice.amount_due, invoice.currency)}
                </strong>
              </p>
              <button type="submit" className="primary" disabled={pending !== null} aria-busy={pending === "change"}>
                {pending === "change"
                  ? "Changing plan…"
                  : `Change plan and pay ${formatMoney(invoice.amount_due, invoice.currency)} now`}
              </button>
            </>
          )}
        </Load>
      )}
    </div>
  );
}
