"use client";

import { useState } from "react";
import type { ProrationBehavior } from "@/api/types";
import { BillingApiError } from "@/client/fetchers/http";
import { useAwaitChangeApplied, usePlanChange } from "@/client/hooks/mutations";
import { useInvoicePreview, usePlans, useSubscription } from "@/client/hooks/queries";
import { formatDate, formatMoney } from "@/lib/format";
import type { PublicConfig } from "@/lib/public-config";
import { fromQuery } from "./loadable";
import { PaymentAuthentication } from "./PaymentAuthentication";
import { PlanChangePanel, type PaymentStep, type PlanChoice } from "./PlanChangePanel";
import { planLabel } from "./plans";

/**
 * A change "now" is previewed and confirmed with this one proration behaviour: the difference is
 * invoiced at once, so the charge is the amount the preview showed.
 */
const PRORATION_NOW: ProrationBehavior = "always_invoice";

/** The "now" choice, as both the preview and the plan change take it. */
const changeNow = (plan: string, quantity: number) => ({
  plan,
  quantity,
  timing: "immediate" as const,
  proration_behavior: PRORATION_NOW,
});

/** A change "now" whose payment waits for the customer's bank (3-D Secure), and where it stands. */
type AwaitedPayment = { plan: string; amountDue: number; currency: string } & (
  | { step: "authenticate"; clientSecret: string }
  | { step: "applying" }
  | { step: "failed"; error: unknown }
);

/**
 * The plan-change panel's workflow: a chosen plan "now" is previewed and confirmed with the
 * preview's `proration_date`; "at period end" schedules it; a scheduled change is withdrawn by
 * asking for the current plan at period end (the API's rule). A change "now" applies once its
 * invoice is paid: when the bank asks for 3-D Secure the customer authenticates here, and the
 * subscription is asked again until the webhooks have brought the change in.
 */
export function PlanChangeSection({ canManage, config }: { canManage: boolean; config: PublicConfig }) {
  const subscriptionQuery = useSubscription();
  const plansQuery = usePlans();
  const planChange = usePlanChange();
  const awaitApplied = useAwaitChangeApplied();
  const [choice, setChoice] = useState<PlanChoice>({ plan: null, timing: "immediate" });
  const [result, setResult] = useState<string | null>(null);
  const [action, setAction] = useState<"change" | "withdraw" | null>(null);
  const [payment, setPayment] = useState<AwaitedPayment | null>(null);

  const current = subscriptionQuery.data?.can_change_plan ? subscriptionQuery.data : null;
  const previewRequest = current && choice.plan && choice.timing === "immediate" ? changeNow(choice.plan, current.quantity) : null;
  const previewQuery = useInvoicePreview(previewRequest);

  const clearOutcome = () => {
    setResult(null);
    setPayment(null);
    planChange.reset();
    awaitApplied.reset();
  };
  const begin = (next: "change" | "withdraw") => {
    setAction(next);
    clearOutcome();
  };
  const label = (plan: string) => planLabel(plansQuery.data ?? [], plan);
  const changedNow = (paid: { plan: string; amountDue: number; currency: string }) =>
    `Plan changed to ${label(paid.plan)}. ${formatMoney(paid.amountDue, paid.currency)} was invoiced today.`;

  const confirm = async () => {
    if (!current || !choice.plan) return;
    begin("change");
    try {
      if (choice.timing === "immediate") {
        const shown = previewQuery.data;
        if (!shown) return;
        const changed = await planChange.mutateAsync({ ...changeNow(choice.plan, current.quantity), proration_date: shown.proration_date });
        const paid = { plan: choice.plan, amountDue: shown.amount_due, currency: shown.currency };
        if (changed.requires_action && changed.client_secret) {
          setPayment({ ...paid, step: "authenticate", clientSecret: changed.client_secret });
        } else {
          setResult(changedNow(paid));
        }
      } else {
        const changed = await planChange.mutateAsync({ plan: choice.plan, quantity: current.quantity, timing: "period_end" });
        const when = formatDate(changed.scheduled_change?.effective_at ?? current.current_period_end);
        setResult(`Scheduled: switches to ${label(choice.plan)} on ${when}.`);
      }
      setChoice({ plan: null, timing: choice.timing });
    } catch (error) {
      // The preview went stale (its proration date is too old): show a fresh one to confirm.
      if (error instanceof BillingApiError && error.code === "invalid_proration_date") void previewQuery.refetch();
      // A declined card: the old plan stays and the preview no longer applies.
      if (error instanceof BillingApiError && error.code === "payment_failed") setChoice({ plan: null, timing: choice.timing });
    }
  };

  const authenticated = async () => {
    if (payment?.step !== "authenticate") return;
    setPayment({ ...payment, step: "applying" });
    try {
      await awaitApplied.mutateAsync();
      setResult(changedNow(payment));
    } catch {
      // The hook keeps the error (the change is paid, not yet applied); the panel shows it.
    }
    setPayment(null);
  };

  const failed = (error: unknown) => {
    if (payment?.step !== "authenticate") return;
    setPayment({ ...payment, step: "failed", error });
    // The change now waits for its invoice: refresh, so `pending_payment` says until when.
    void subscriptionQuery.refetch();
  };

  const paymentStep: PaymentStep | null =
    payment?.step === "authenticate"
      ? {
          ...payment,
          challenge: (
            <PaymentAuthentication
              config={config}
              clientSecret={payment.clientSecret}
              onAuthenticated={() => void authenticated()}
              onFailed={failed}
            />
          ),
        }
      : payment;

  const withdrawScheduled = async () => {
    if (!current?.plan) return;
    begin("withdraw");
    try {
      await planChange.mutateAsync({ plan: current.plan, quantity: current.quantity, timing: "period_end" });
      setResult("The scheduled change was cancelled.");
    } catch {
      // The hook keeps the error; the panel shows it.
    }
  };

  return (
    <PlanChangePanel
      subscription={fromQuery(subscriptionQuery)}
      plans={fromQuery(plansQuery)}
      canManage={canManage}
      choice={choice}
      onChoose={(next) => {
        setChoice(next);
        clearOutcome();
      }}
      preview={previewRequest ? fromQuery(previewQuery) : null}
      onConfirm={() => void confirm()}
      onWithdrawScheduled={() => void withdrawScheduled()}
      pending={planChange.isPending ? action : null}
      actionError={planChange.error ?? awaitApplied.error}
      result={result}
      payment={paymentStep}
    />
  );
}
