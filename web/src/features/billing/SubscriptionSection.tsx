"use client";

import { useState } from "react";
import { useCancelSubscription, useResumeSubscription, useStartSubscription } from "@/client/hooks/mutations";
import { usePaymentMethods, usePlans, useSubscription } from "@/client/hooks/queries";
import type { PublicConfig } from "@/lib/public-config";
import { fromQuery } from "./loadable";
import { SubscriptionPanel } from "./SubscriptionPanel";
import { useInvoicePayment } from "./useInvoicePayment";

type SubscriptionAction = "start" | "cancel" | "resume";

/** The subscription panel's workflow: start, cancel at period end, resume, and the past-due banner's "Pay now". */
export function SubscriptionSection({ canManage, config }: { canManage: boolean; config: PublicConfig }) {
  const subscription = useSubscription();
  const plans = usePlans();
  const paymentMethods = usePaymentMethods();
  const start = useStartSubscription();
  const cancel = useCancelSubscription();
  const resume = useResumeSubscription();
  const payment = useInvoicePayment(config);
  const actions = { start, cancel, resume };
  // The panel shows the error of the action last asked for, not of an earlier one.
  const [lastAction, setLastAction] = useState<SubscriptionAction | null>(null);
  const run = (action: SubscriptionAction, mutate: () => void) => {
    Object.values(actions).forEach((m) => m.reset());
    setLastAction(action);
    mutate();
  };

  return (
    <SubscriptionPanel
      subscription={fromQuery(subscription)}
      plans={fromQuery(plans)}
      canManage={canManage}
      hasPaymentMethod={(paymentMethods.data?.length ?? 0) > 0}
      onStart={(plan) => run("start", () => start.mutate({ plan }))}
      onCancel={() => run("cancel", () => cancel.mutate())}
      onResume={() => run("resume", () => resume.mutate())}
      pending={start.isPending ? "start" : cancel.isPending ? "cancel" : resume.isPending ? "resume" : null}
      actionError={lastAction ? actions[lastAction].error : null}
      onPay={payment.payNow}
      payingInvoice={payment.paying}
      paymentOutcome={payment.outcome}
    />
  );
}
