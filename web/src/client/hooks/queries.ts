"use client";

import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import type { PreviewRequest, Subscription } from "@/api/types";
import {
  fetchCustomer,
  fetchInvoicePreview,
  fetchInvoices,
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

/** Invoices per page of the invoice table. */
export const INVOICE_PAGE_SIZE = 10;

/**
 * The org's invoices, newest first, in cursor pages: `fetchNextPage` ("Load more") asks for the
 * page after the last one's `next_cursor`. `data` is every invoice loaded so far.
 */
export function useInvoices() {
  return useInfiniteQuery({
    queryKey: billingKeys.invoices(),
    queryFn: ({ pageParam, signal }) => fetchInvoices({ limit: INVOICE_PAGE_SIZE, starting_after: pageParam }, signal),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (page) => (page.has_more && page.next_cursor ? page.next_cursor : undefined),
    select: (data) => data.pages.flatMap((page) => page.invoices),
  });
}
