import { useId } from "react";
import type { InvoicePreview, Plan, Subscription, Timing } from "@/api/types";
import { formatDate, formatMoney } from "@/lib/format";
import { InvoiceLines } from "./InvoiceLines";
import type { Loadable } from "./loadable";
import { planLabel } from "./plans";
import { ActionError, EmptyState, Load, Notice, Panel, ReadOnlyNote } from "./ui";

export interface PlanChoice {
  plan: string | null;
  timing: Timing;
}

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
      {!canManage ? (
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
      <ActionError error={actionError} />
    </>
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
