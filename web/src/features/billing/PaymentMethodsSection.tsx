"use client";

import { useState } from "react";
import { useRemovePaymentMethod, useSetDefaultPaymentMethod } from "@/client/hooks/mutations";
import { usePaymentMethods } from "@/client/hooks/queries";
import type { PublicConfig } from "@/lib/public-config";
import { AddCard } from "./AddCard";
import { fromQuery } from "./loadable";
import { PaymentMethodsPanel } from "./PaymentMethodsPanel";

/** The payment-methods panel's workflow: set a default, remove a card, add one. */
export function PaymentMethodsSection({ canManage, config }: { canManage: boolean; config: PublicConfig }) {
  const paymentMethods = usePaymentMethods();
  const setDefault = useSetDefaultPaymentMethod();
  const remove = useRemovePaymentMethod();
  // The panel shows the error of the action last asked for, not of an earlier one.
  const [lastAction, setLastAction] = useState<"default" | "remove" | null>(null);

  return (
    <PaymentMethodsPanel
      paymentMethods={fromQuery(paymentMethods)}
      canManage={canManage}
      onSetDefault={(id) => {
        remove.reset();
        setLastAction("default");
        setDefault.mutate(id);
      }}
      onRemove={(id) => {
        setDefault.reset();
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
      addCard={<AddCard config={config} hasDefault={paymentMethods.data?.some((pm) => pm.is_default) ?? false} />}
    />
  );
}
