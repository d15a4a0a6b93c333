import type { Plan } from "@/api/types";
import { formatInterval, formatMoney } from "@/lib/format";

export function findPlan(plans: Plan[], key: string | null | undefined): Plan | undefined {
  return key ? plans.find((p) => p.plan === key) : undefined;
}

/** "Pro — $30.00 per month" (or the lookup key when the plan is not in the list). */
export function planLabel(plans: Plan[], key: string | null | undefined): string {
  const plan = findPlan(plans, key);
  if (!plan) return key ?? "Unknown plan";
  return `${plan.product} — ${formatMoney(plan.amount, plan.currency)} ${formatInterval(plan.interval, plan.interval_count)}`;
}

export const STATUS_LABELS: Record<string, string> = {
  trialing: "Trial",
  active: "Active",
  past_due: "Past due",
  canceled: "Canceled",
  incomplete: "Payment required",
  incomplete_expired: "Expired",
  unpaid: "Unpaid",
  paused: "Paused",
};
