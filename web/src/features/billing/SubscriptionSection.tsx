"use client";

import { useState } from "react";
import type { Subscription } from "@/api/types";
import { useAwaitChangeApplied, useCancelSubscription, useRefreshBilling, useResumeSubscription, useStartSubscription } from "@/client/hooks/mutations";
import { usePaymentMethods, usePlans, useSubscription } from "@/client/hooks/queries";
import type { PublicConfig } from "@/lib/public-config";
import { fromQuery } from "./loadable";
import { PaymentAuthentication } from "./PaymentAuthentication";
import { SubscriptionPanel, type FirstPaymentStep } from "./SubscriptionPanel";
import { useInvoicePayment } from "./useInvoicePayment";

type SubscriptionAction = "start" | "cancel" | "resume";

/** A start whose first payment waits for the customer's bank (3-D Secure), and where it stands. */
type FirstPayment = { step: "authenticate"; clientSecret: string } | Exclude<FirstPaymentStep, { step: "authenticate" }>;

/** The first payment is made: Stripe has turned the subscription out of `incomplete`. */
const firstPaymentMade = (subscription: Subscription | null) => subscription?.status !== "incomplete";

/**
 * The subscription panel's workflow: start, cancel at period end, resume, and the past-due banner's
 * "Pay now". A start whose first payment the bank asks to authenticate (`requires_payment` with a
 * `client_secret`) is authenticated here; the subscription is then asked again until Stripe has
 * made it active. A failed challenge leaves it `incomplete`, its open invoice payable from the banner.
 */
export function SubscriptionSection({ canManage, config }: { canManage: boolean; config: PublicConfig }) {
  const subscription = useSubscription();
  const plans = usePlans();
  const paymentMethods = usePaymentMethods();
  const start = useStartSubscription();
  const cancel = useCancelSubscription();
  const resume = useResumeSubscription();
  const awaitActive = useAwaitChangeApplied({ applied: firstPaymentMade });
  const refreshBilling = useRefreshBilling();
  const payment = useInvoicePayment(config);
  const [firstPayment, setFirstPayment] = useState<FirstPayment | null>(null);
  const actions = { start, cancel, resume };
  // The panel shows the error of the action last asked for, not of an earlier one.
  const [lastAction, setLastAction] = useState<SubscriptionAction | null>(null);
  const clearOutcome = () => {
    Object.values(actions).forEach((m) => m.reset());
    awaitActive.reset();
    setFirstPayment(null);
  };
  const run = (action: SubscriptionAction, mutate: () => void) => {
    clearOutcome();
    setLastAction(action);
    mutate();
  };

  const startPlan = async (plan: string) => {
    try {
      const started = await start.mutateAsync({ plan });
      if (started.requires_payment && started.client_secret) setFirstPayment({ step: "authenticate", clientSecret: started.client_secret });
    } catch {
      // The hook keeps the error (a declined card: the subscription waits for payment); the panel shows it.
    }
  };

  const authenticated = async () => {
    setFirstPayment({ step: "activating" });
    try {
      await awaitActive.mutateAsync();
      setFirstPayment({ step: "started" });
    } catch {
      // Paid, but Stripe has not made it active yet: the hook keeps the error; the panel shows it.
      setFirstPayment(null);
    }
  };

  const firstPaymentStep: FirstPaymentStep | null =
    firstPayment?.step === "authenticate"
      ? {
          step: "authenticate",
          challenge: (
            <PaymentAuthentication
              config={config}
              clientSecret={firstPayment.clientSecret}
              onAuthenticated={() => void authenticated()}
              onFailed={(error) => {
                setFirstPayment({ step: "failed", error });
                // The open invoice's payment is now waiting for another attempt.
                void refreshBilling();
              }}
            />
          ),
        }
      : firstPayment;

  return (
    <SubscriptionPanel
      subscription={fromQuery(subscription)}
      plans={fromQuery(plans)}
      canManage={canManage}
      hasPaymentMethod={(paymentMethods.data?.length ?? 0) > 0}
      onStart={(plan) => run("start", () => void startPlan(plan))}
      onCancel={() => run("cancel", () => cancel.mutate())}
      onResume={() => run("resume", () => resume.mutate())}
      pending={start.isPending ? "start" : cancel.isPending ? "cancel" : resume.isPending ? "resume" : null}
      actionError={awaitActive.error ?? (lastAction ? actions[lastAction].error : null)}
      firstPayment={firstPaymentStep}
      onPay={(invoice) => {
        clearOutcome();
        payment.payNow(invoice);
      }}
      payingInvoice={payment.paying}
      paymentOutcome={payment.outcome}
    />
  );
}
