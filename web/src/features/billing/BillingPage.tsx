"use client";

import { useState } from "react";
import { canManageBilling, type InvoicePreview, type PreviewRequest } from "@/api/types";
import { BillingApiError } from "@/client/fetchers/http";
import {
  useCancelSubscription,
  usePlanChange,
  usePortalSession,
  useRemovePaymentMethod,
  useResumeSubscription,
  useSetDefaultPaymentMethod,
  useStartSubscription,
} from "@/client/hooks/mutations";
import { hasUpcomingInvoice, useInvoicePreview, usePaymentMethods, usePlans, useSubscription, useUpcomingInvoice } from "@/client/hooks/queries";
import { formatDate, formatMoney } from "@/lib/format";
import type { PublicConfig } from "@/lib/public-config";
import { AddCard } from "./AddCard";
import { failed, fromQuery, loading, ready, type Loadable } from "./loadable";
import { ManageBillingPanel } from "./ManageBillingPanel";
import { PaymentMethodsPanel } from "./PaymentMethodsPanel";
import { PlanChangePanel, type PlanChoice } from "./PlanChangePanel";
import { isLive, planLabel } from "./plans";
import { SubscriptionPanel } from "./SubscriptionPanel";
import { UpcomingInvoicePanel } from "./UpcomingInvoicePanel";

export interface BillingSession {
  orgId: string;
  role: string;
  userId: string;
}

/** The billing page: every surface, wired to the TanStack Query hooks. */
export function BillingPage({ session, config }: { session: BillingSession; config: PublicConfig }) {
  const canManage = canManageBilling(session.role);
  return (
    <main className="page">
      <header className="page-head">
        <h1>Billing</h1>
        <p className="muted">
          Organisation <strong>{session.orgId}</strong> · signed in as <strong data-testid="role">{session.role}</strong>
          {config.devSignIn ? (
            <>
              {" "}
              · <a href="/dev/sign-in">switch org or role</a>
            </>
          ) : null}
        </p>
        {!canManage ? (
          <p className="notice notice-info" data-testid="viewer-notice">
            You have read-only access: billing can be viewed but only owners and admins can change it.
          </p>
        ) : null}
      </header>
      <BillingSurfaces canManage={canManage} config={config} />
    </main>
  );
}

function BillingSurfaces({ canManage, config }: { canManage: boolean; config: PublicConfig }) {
  const subscriptionQuery = useSubscription();
  const plansQuery = usePlans();
  const paymentMethodsQuery = usePaymentMethods();
  const upcomingQuery = useUpcomingInvoice(subscriptionQuery.data);

  const subscription = fromQuery(subscriptionQuery);
  const plans = fromQuery(plansQuery);
  const current = subscriptionQuery.data ?? null;
  const planList = plansQuery.data ?? [];

  // Subscription actions
  const start = useStartSubscription();
  const cancel = useCancelSubscription();
  const resume = useResumeSubscription();
  const [subscriptionAction, setSubscriptionAction] = useState<"start" | "cancel" | "resume" | null>(null);
  const subscriptionActions = { start, cancel, resume };
  const runSubscriptionAction = (action: "start" | "cancel" | "resume", run: () => void) => {
    Object.values(subscriptionActions).forEach((m) => m.reset());
    setSubscriptionAction(action);
    run();
  };
  const subscriptionPending = start.isPending ? "start" : cancel.isPending ? "cancel" : resume.isPending ? "resume" : null;
  const subscriptionError = subscriptionAction ? subscriptionActions[subscriptionAction].error : null;

  // Payment methods
  const setDefault = useSetDefaultPaymentMethod();
  const remove = useRemovePaymentMethod();
  const [cardAction, setCardAction] = useState<"default" | "remove" | null>(null);
  const cardPending = setDefault.isPending
    ? { action: "default" as const, id: setDefault.variables ?? "" }
    : remove.isPending
      ? { action: "remove" as const, id: remove.variables ?? "" }
      : null;
  const cardError = cardAction === "default" ? setDefault.error : cardAction === "remove" ? remove.error : null;

  // Upcoming invoice
  let upcoming: Loadable<InvoicePreview | null>;
  let emptyReason: string | undefined;
  if (subscription.status !== "ready") upcoming = subscription.status === "loading" ? loading : failed(subscription.error, subscription.onRetry);
  else if (!hasUpcomingInvoice(current)) {
    upcoming = ready(null);
    emptyReason = !current
      ? "No subscription, so nothing is billed."
      : current.cancel_at_period_end
        ? `The subscription cancels on ${formatDate(current.current_period_end)}; no further invoices.`
        : current.status === "incomplete"
          ? "The first invoice is waiting for payment."
          : "No upcoming invoice.";
  } else upcoming = fromQuery(upcomingQuery);

  // Plan change
  const [choice, setChoice] = useState<PlanChoice>({ plan: null, timing: "immediate" });
  const [result, setResult] = useState<string | null>(null);
  const planChange = usePlanChange();
  const [planAction, setPlanAction] = useState<"change" | "withdraw" | null>(null);
  const previewRequest: PreviewRequest | null =
    choice.plan && choice.timing === "immediate" && isLive(current)
      ? { plan: choice.plan, quantity: current.quantity, timing: "immediate", proration_behavior: "always_invoice" }
      : null;
  const previewQuery = useInvoicePreview(previewRequest);
  const preview = previewRequest ? fromQuery(previewQuery) : null;

  const confirmPlanChange = async () => {
    if (!choice.plan || !isLive(current)) return;
    setPlanAction("change");
    setResult(null);
    planChange.reset();
    const label = planLabel(planList, choice.plan);
    try {
      if (choice.timing === "immediate") {
        const shown = previewQuery.data;
        if (!shown) return;
        await planChange.mutateAsync({
          plan: choice.plan,
          quantity: current.quantity,
          timing: "immediate",
          proration_behavior: "always_invoice",
          proration_date: shown.proration_date,
        });
        setResult(`Changed to ${label}. ${formatMoney(shown.amount_due, shown.currency)} was invoiced today.`);
      } else {
        const changed = await planChange.mutateAsync({ plan: choice.plan, quantity: current.quantity, timing: "period_end" });
        const when = changed.scheduled_change ? formatDate(changed.scheduled_change.effective_at) : formatDate(current.current_period_end);
        setResult(`Scheduled: switches to ${label} on ${when}.`);
      }
      setChoice({ plan: null, timing: choice.timing });
    } catch (error) {
      if (error instanceof BillingApiError && error.code === "invalid_proration_date") void previewQuery.refetch();
    }
  };

  const withdrawScheduled = async () => {
    if (!isLive(current) || !current.plan) return;
    setPlanAction("withdraw");
    setResult(null);
    planChange.reset();
    try {
      await planChange.mutateAsync({ plan: current.plan, quantity: current.quantity, timing: "period_end" });
      setResult("The scheduled change was cancelled.");
    } catch {
      // shown by the panel
    }
  };

  // Portal
  const portal = usePortalSession();
  const openPortal = async () => {
    try {
      const { url } = await portal.mutateAsync("/billing");
      window.location.assign(url);
    } catch {
      // shown by the panel
    }
  };

  return (
    <div className="surfaces">
      <SubscriptionPanel
        subscription={subscription}
        plans={plans}
        canManage={canManage}
        hasPaymentMethod={(paymentMethodsQuery.data?.length ?? 0) > 0}
        onStart={(plan) => runSubscriptionAction("start", () => start.mutate({ plan }))}
        onCancel={() => runSubscriptionAction("cancel", () => cancel.mutate())}
        onResume={() => runSubscriptionAction("resume", () => resume.mutate())}
        pending={subscriptionPending}
        actionError={subscriptionError}
      />
      <PlanChangePanel
        subscription={subscription}
        plans={plans}
        canManage={canManage}
        choice={choice}
        onChoose={(next) => {
          setChoice(next);
          setResult(null);
          planChange.reset();
        }}
        preview={preview}
        onConfirm={() => void confirmPlanChange()}
        onWithdrawScheduled={() => void withdrawScheduled()}
        pending={planChange.isPending ? planAction : null}
        actionError={planChange.error}
        result={result}
      />
      <UpcomingInvoicePanel invoice={upcoming} emptyReason={emptyReason} />
      <PaymentMethodsPanel
        paymentMethods={fromQuery(paymentMethodsQuery)}
        canManage={canManage}
        onSetDefault={(id) => {
          remove.reset();
          setCardAction("default");
          setDefault.mutate(id);
        }}
        onRemove={(id) => {
          setDefault.reset();
          setCardAction("remove");
          remove.mutate(id);
        }}
        pending={cardPending}
        actionError={cardError}
        addCard={<AddCard config={config} hasDefault={paymentMethodsQuery.data?.some((pm) => pm.is_default) ?? false} />}
      />
      <ManageBillingPanel canManage={canManage} onOpen={() => void openPortal()} opening={portal.isPending || portal.isSuccess} error={portal.error} />
    </div>
  );
}
