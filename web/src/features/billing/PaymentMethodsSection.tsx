"use client";

import { useState } from "react";
import { useRemovePaymentMethod, useSetDefaultPaymentMethod } from "@/client/hooks/mutations";
import { usePaymentMethods, useSubscription } from "@/client/hooks/queries";
import type { PublicConfig } from "@/lib/public-config";
import { AddCard } from "./AddCard";
import { fromQuery } from "./loadable";
import { PaymentMethodsPanel } from "./PaymentMethodsPanel";
import { useInvoicePayment } from "./useInvoicePayment";

/**
 * The payment-methods panel's workflow: set a default, remove a card, add one. A new default's
 * answer names the subscription's unpaid invoice, if any: it is offered for "Pay now" with that card.
 */
export function PaymentMethodsSection({ canManage, config }: { canManage: boolean; config: PublicConfig }) {
  const paymentMethods = usePaymentMethods();
  const subscription = useSubscription();
  const setDefault = useSetDefaultPaymentMethod();
  const remove = useRemovePaymentMethod();
  const payment = useInvoicePayment(config);
  // The panel shows the error of the action last asked for, not of an earlier one.
  const [lastAction, setLastAction] = useState<"default" | "remove" | null>(null);
  const offered = setDefault.data?.open_invoice;
  const card = paymentMethods.data?.find((pm) => pm.id === setDefault.data?.default_payment_method);
  // Offered while it is still the subscription's unpaid invoice (not paid here, in the banner or the table since).
  const openInvoiceOffer = offered && card && subscription.data?.open_invoice?.id === offered.id ? { invoice: offered, card } : null;

  return (
    <PaymentMethodsPanel
      paymentMethods={fromQuery(paymentMethods)}
      canManage={canManage}
      onSetDefault={(id) => {
        remove.reset();
        payment.reset();
        setLastAction("default");
        setDefault.mutate(id);
      }}
      onRemove={(id) => {
        setDefault.reset();
        payment.reset();
        setLastAction("remove");
        remove.mutate(id);
      }}
      pending={
        setDefault.isPending
          ? { action: "default", id: setDefault.variables ?? "" }
          : remove.isPending
            ? { action: "remove", id: remove.variables ?? "" }
            : null
      }
      actionError={lastAction === "default" ? setDefault.error : lastAction === "remove" ? remove.error : null}
      openInvoiceOffer={openInvoiceOffer}
      onPay={payment.payNow}
      payingInvoice={payment.paying}
      paymentOutcome={payment.outcome}
      addCard={<AddCard config={config} hasDefault={paymentMethods.data?.some((pm) => pm.is_default) ?? false} />}
    />
  );
}
