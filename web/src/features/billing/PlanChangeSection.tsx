"use client";

import { useState } from "react";
import type { ProrationBehavior } from "@/api/types";
import { BillingApiError } from "@/client/fetchers/http";
import { usePlanChange } from "@/client/hooks/mutations";
import { useInvoicePreview, usePlans, useSubscription } from "@/client/hooks/queries";
import { formatDate, formatMoney } from "@/lib/format";
import { fromQuery } from "./loadable";
import { PlanChangePanel, type PlanChoice } from "./PlanChangePanel";
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

/**
 * The plan-change panel's workflow: a chosen plan "now" is previewed and confirmed with the
 * preview's `proration_date`; "at period end" schedules it; a scheduled change is withdrawn by
 * asking for the current plan at period end (the API's rule).
 */
export function PlanChangeSection({ canManage }: { canManage: boolean }) {
  const subscriptionQuery = useSubscription();
  const plansQuery = usePlans();
  const planChange = usePlanChange();
  const [choice, setChoice] = useState<PlanChoice>({ plan: null, timing: "immediate" });
  const [result, setResult] = useState<string | null>(null);
  const [action, setAction] = useState<"change" | "withdraw" | null>(null);

  const current = subscriptionQuery.data?.can_change_plan ? subscriptionQuery.data : null;
  const previewRequest = current && choice.plan && choice.timing === "immediate" ? changeNow(choice.plan, current.quantity) : null;
  const previewQuery = useInvoicePreview(previewRequest);

  const begin = (next: "change" | "withdraw") => {
    setAction(next);
    setResult(null);
    planChange.reset();
  };

  const confirm = async () => {
    if (!current || !choice.plan) return;
    begin("change");
    const label = planLabel(plansQuery.data ?? [], choice.plan);
    try {
      if (choice.timing === "immediate") {
        const shown = previewQuery.data;
        if (!shown) return;
        await planChange.mutateAsync({ ...changeNow(choice.plan, current.quantity), proration_date: shown.proration_date });
        setResult(`Changed to ${label}. ${formatMoney(shown.amount_due, shown.currency)} was invoiced today.`);
      } else {
        const changed = await planChange.mutateAsync({ plan: choice.plan, quantity: current.quantity, timing: "period_end" });
        const when = formatDate(changed.scheduled_change?.effective_at ?? current.current_period_end);
        setResult(`Scheduled: switches to ${label} on ${when}.`);
      }
      setChoice({ plan: null, timing: choice.timing });
    } catch (error) {
      // The preview went stale (its proration date is too old): show a fresh one to confirm.
      if (error instanceof BillingApiError && error.code === "invalid_proration_date") void previewQuery.refetch();
    }
  };

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
        setResult(null);
        planChange.reset();
      }}
      preview={previewRequest ? fromQuery(previewQuery) : null}
      onConfirm={() => void confirm()}
      onWithdrawScheduled={() => void withdrawScheduled()}
      pending={planChange.isPending ? action : null}
      actionError={planChange.error}
      result={result}
    />
  );
}
