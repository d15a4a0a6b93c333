"use client";

import { useQuery } from "@tanstack/react-query";
import type { PreviewRequest, Subscription } from "@/api/types";
import {
  fetchCustomer,
  fetchInvoicePreview,
  fetchPaymentMethods,
  fetchPlans,
  fetchSubscription,
} from "../fetchers/billing";
import { billingKeys } from "./keys";

export function useBillingCustomer() {
  return useQuery({ queryKey: billingKeys.customer(), queryFn: ({ signal }) => fetchCustomer(signal) });
}

export function usePaymentMethods() {
  return useQuery({
    queryKey: billingKeys.paymentMethods(),
    queryFn: ({ signal }) => fetchPaymentMethods(signal),
    select: (list) => list.payment_methods,
  });
}

export function usePlans() {
  return useQuery({
    queryKey: billingKeys.plans(),
    queryFn: ({ signal }) => fetchPlans(signal),
    select: (list) => list.plans,
    staleTime: 5 * 60_000,
  });
}

export function useSubscription() {
  return useQuery({ queryKey: billingKeys.subscription(), queryFn: ({ signal }) => fetchSubscription(signal) });
}

/** The org's next invoice; only asked for when the API says the subscription has one. */
export function useUpcomingInvoice(subscription: Subscription | null | undefined) {
  return useQuery({
    queryKey: billingKeys.upcomingInvoice(),
    queryFn: ({ signal }) => fetchInvoicePreview(undefined, signal),
    enabled: subscription?.has_upcoming_invoice === true,
  });
}

/**
 * What a plan change would invoice (`null` request: nothing asked). The answer's `proration_date`
 * is what the confirmation sends, so it is kept as long as the choice stays the same.
 */
export function useInvoicePreview(request: PreviewRequest | null) {
  return useQuery({
    queryKey: billingKeys.invoicePreview(request ?? {}),
    queryFn: ({ signal }) => fetchInvoicePreview(request ?? undefined, signal),
    enabled: request !== null,
    staleTime: Infinity,
    gcTime: 0,
    refetchOnWindowFocus: false,
  });
}
