"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import type { PlanChangeBody, StartSubscriptionBody } from "@/api/types";
import {
  cancelAtPeriodEnd,
  changePlan,
  createPortalSession,
  createSetupIntent,
  removePaymentMethod,
  resumeSubscription,
  setDefaultPaymentMethod,
  startSubscription,
} from "../fetchers/billing";
import { newIdempotencyKey } from "../fetchers/http";
import { billingKeys } from "./keys";

/**
 * A mutation whose every user action (one `mutate` call) carries its own Idempotency-Key; a retry
 * of that action would send the same key and replay instead of repeating.
 */
function useBillingMutation<V, R>(run: (variables: V, idempotencyKey: string) => Promise<R>, { invalidate = true } = {}) {
  const queryClient = useQueryClient();
  const mutation = useMutation({
    mutationFn: ({ variables, key }: { variables: V; key: string }) => run(variables, key),
    onSuccess: async () => {
      if (invalidate) {
        await queryClient.invalidateQueries({
          predicate: (query) => query.queryKey[0] === billingKeys.all[0] && query.queryKey[1] !== "plans",
        });
      }
    },
  });
  return {
    mutate: (variables: V) => mutation.mutate({ variables, key: newIdempotencyKey() }),
    mutateAsync: (variables: V) => mutation.mutateAsync({ variables, key: newIdempotencyKey() }),
    isPending: mutation.isPending,
    isSuccess: mutation.isSuccess,
    error: mutation.error,
    data: mutation.data,
    variables: mutation.variables?.variables,
    reset: mutation.reset,
  };
}

export const useCreateSetupIntent = () => useBillingMutation((_: void, key) => createSetupIntent(key), { invalidate: false });
export const useSetDefaultPaymentMethod = () => useBillingMutation((id: string, key) => setDefaultPaymentMethod(id, key));
export const useRemovePaymentMethod = () => useBillingMutation((id: string, key) => removePaymentMethod(id, key));
export const usePortalSession = () =>
  useBillingMutation((returnPath: string, key) => createPortalSession(returnPath, key), { invalidate: false });
export const useStartSubscription = () => useBillingMutation((body: StartSubscriptionBody, key) => startSubscription(body, key));
export const usePlanChange = () => useBillingMutation((body: PlanChangeBody, key) => changePlan(body, key));
export const useCancelSubscription = () => useBillingMutation((_: void, key) => cancelAtPeriodEnd(key));
export const useResumeSubscription = () => useBillingMutation((_: void, key) => resumeSubscription(key));

/** After a card was added outside these mutations (Stripe confirmed the SetupIntent). */
export function useRefreshPaymentMethods() {
  const queryClient = useQueryClient();
  return () => queryClient.invalidateQueries({ queryKey: billingKeys.paymentMethods() });
}
