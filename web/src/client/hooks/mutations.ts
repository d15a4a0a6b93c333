"use client";

import { useMutation, useQueryClient, type QueryClient } from "@tanstack/react-query";
import type { PlanChangeBody, StartSubscriptionBody, Subscription } from "@/api/types";
import type { PublicConfig } from "@/lib/public-config";
import {
  cancelAtPeriodEnd,
  changePlan,
  createPortalSession,
  createSetupIntent,
  fetchSubscription,
  payInvoice,
  removePaymentMethod,
  resumeSubscription,
  setDefaultPaymentMethod,
  startSubscription,
} from "../fetchers/billing";
import { BillingApiError, newIdempotencyKey } from "../fetchers/http";
import { authenticateTestPayment, confirmSetupIntentWithTestCard } from "../fetchers/stripe-test-cards";
import { billingKeys } from "./keys";

/** Every billing answer a mutation may have changed (the plan catalogue never is). */
const refreshBilling = (queryClient: QueryClient) =>
  queryClient.invalidateQueries({
    predicate: (query) => query.queryKey[0] === billingKeys.all[0] && query.queryKey[1] !== "plans",
  });

/** Refreshes every billing answer, for a change no mutation made (a payment the bank's challenge completed). */
export function useRefreshBilling() {
  const queryClient = useQueryClient();
  return () => refreshBilling(queryClient);
}

/**
 * A mutation whose every user action (one `mutate` call) carries its own Idempotency-Key; a retry
 * of that action would send the same key and replay instead of repeating. `refreshAfter` names the
 * refusals that still changed something, so those refresh too.
 */
function useBillingMutation<V, R>(
  run: (variables: V, idempotencyKey: string) => Promise<R>,
  { invalidate = true, refreshAfter }: { invalidate?: boolean; refreshAfter?: (error: unknown) => boolean } = {},
) {
  const queryClient = useQueryClient();
  const mutation = useMutation({
    mutationFn: ({ variables, key }: { variables: V; key: string }) => run(variables, key),
    onSuccess: async () => {
      if (invalidate) await refreshBilling(queryClient);
    },
    onError: async (error) => {
      if (refreshAfter?.(error)) await refreshBilling(queryClient);
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
/**
 * A declined first payment (402 `payment_failed`) still leaves the subscription, `incomplete` with
 * its open invoice: it refreshes, so the subscription shows with the invoice to pay.
 */
const leftAnIncompleteSubscription = (error: unknown) => error instanceof BillingApiError && error.code === "payment_failed";
export const useStartSubscription = () =>
  useBillingMutation((body: StartSubscriptionBody, key) => startSubscription(body, key), { refreshAfter: leftAnIncompleteSubscription });
/**
 * A declined payment (402 `payment_failed`) leaves the change waiting for payment, and a 409
 * `payment_pending` means one already waits: both refresh, so `pending_payment` shows.
 */
const leftAChangeWaitingForPayment = (error: unknown) =>
  error instanceof BillingApiError && (error.code === "payment_failed" || error.code === "payment_pending");
export const usePlanChange = () =>
  useBillingMutation((body: PlanChangeBody, key) => changePlan(body, key), { refreshAfter: leftAChangeWaitingForPayment });
/**
 * A declined card (402 `payment_failed`) or an invoice that is no longer open (409
 * `invoice_not_payable`: paid or voided meanwhile) still leaves the table out of date: both refresh.
 */
const invoiceChangedAnyway = (error: unknown) =>
  error instanceof BillingApiError && (error.code === "payment_failed" || error.code === "invoice_not_payable");
export const usePayInvoice = () =>
  useBillingMutation((invoiceId: string, key) => payInvoice(invoiceId, key), { refreshAfter: invoiceChangedAnyway });
export const useCancelSubscription = () => useBillingMutation((_: void, key) => cancelAtPeriodEnd(key));
export const useResumeSubscription = () => useBillingMutation((_: void, key) => resumeSubscription(key));

/** A card Stripe has just saved; `makeDefault` while the org has no default card (invoices need one). */
export interface AddedCard {
  paymentMethodId: string;
  makeDefault: boolean;
}

/**
 * The last step of adding a card, whichever form saved it: set it as the default if asked, then
 * refresh. Stripe holds the card even when the default is refused, so the list is refreshed either
 * way and the refusal is the action's error.
 */
async function finishAddingCard(queryClient: QueryClient, card: AddedCard, idempotencyKey: string): Promise<string> {
  try {
    if (card.makeDefault) await setDefaultPaymentMethod(card.paymentMethodId, idempotencyKey);
  } finally {
    // A new default changes what the other answers show; a plain new card only changes the list.
    await (card.makeDefault ? refreshBilling(queryClient) : queryClient.invalidateQueries({ queryKey: billingKeys.paymentMethods() }));
  }
  return card.paymentMethodId;
}

/** Stripe Elements confirmed the SetupIntent in the browser: finish adding that card. */
export function useFinishAddingCard() {
  const queryClient = useQueryClient();
  return useBillingMutation((card: AddedCard, key) => finishAddingCard(queryClient, card, key), { invalidate: false });
}

/**
 * The test-card picker's whole action: a SetupIntent through the BFF, confirmed against the fake
 * Stripe with the chosen test card (as Stripe.js would), then the card finished like any other.
 * Its two BFF calls carry the action's key, one suffix per step, so each replays on its own.
 */
export function useAddTestCard(stripe: Pick<PublicConfig, "stripeFakeUrl" | "stripeFakePublishableKey">) {
  const queryClient = useQueryClient();
  return useBillingMutation(
    async ({ cardToken, makeDefault }: { cardToken: string; makeDefault: boolean }, key) => {
      const intent = await createSetupIntent(`${key}:setup-intent`);
      const { paymentMethodId } = await confirmSetupIntentWithTestCard({
        stripeUrl: stripe.stripeFakeUrl,
        publishableKey: stripe.stripeFakePublishableKey,
        setupIntentId: intent.id,
        clientSecret: intent.client_secret,
        cardToken,
        returnUrl: `${window.location.origin}/billing`,
      });
      return finishAddingCard(queryClient, { paymentMethodId, makeDefault }, `${key}:default`);
    },
    { invalidate: false },
  );
}

/**
 * The local test-card picker's 3-D Secure for a payment the API handed over (`requires_action`):
 * the person passes or fails the fake's challenge (`fail`), as on Stripe's test authentication page.
 */
export function useAuthenticateTestPayment(stripe: Pick<PublicConfig, "stripeFakeUrl" | "stripeFakePublishableKey">) {
  return useMutation({
    mutationFn: ({ clientSecret, fail }: { clientSecret: string; fail: boolean }) =>
      authenticateTestPayment({ stripeUrl: stripe.stripeFakeUrl, publishableKey: stripe.stripeFakePublishableKey, clientSecret, fail }),
  });
}

/** The change was paid, but the API has not heard from Stripe yet (its webhooks are late). */
export class ChangeStillApplyingError extends Error {
  readonly code = "change_still_applying";
  constructor() {
    super("The payment went through; the new plan is still being applied.");
    this.name = "ChangeStillApplyingError";
  }
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const noPaymentPending = (subscription: Subscription | null) => !subscription?.pending_payment;

/**
 * After a change's payment was authenticated, Stripe applies the change and the API learns of it
 * through webhooks a moment later: the subscription is asked again (`attempts` times, `intervalMs`
 * apart) until it is `applied` (by default: no payment is pending; a start's: no longer
 * `incomplete`), then every billing answer is refreshed. Answers the applied subscription;
 * ChangeStillApplyingError if it is still not applied after the last attempt.
 */
export function useAwaitChangeApplied({
  attempts = 10,
  intervalMs = 1_000,
  applied = noPaymentPending,
}: { attempts?: number; intervalMs?: number; applied?: (subscription: Subscription | null) => boolean } = {}) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async () => {
      for (let attempt = 1; ; attempt += 1) {
        const subscription = await fetchSubscription();
        if (applied(subscription)) {
          await refreshBilling(queryClient);
          return subscription;
        }
        if (attempt >= attempts) throw new ChangeStillApplyingError();
        await wait(intervalMs);
      }
    },
  });
}
