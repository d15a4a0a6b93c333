/**
 * The hooks against a stubbed `fetch`: the requests they make and the state they end in. Adding a
 * card must end in the hook's own error when a step is refused, never in a silent success.
 */
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { act, renderHook, waitFor } from "@testing-library/react";
import type { ReactNode } from "react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { activeSubscription, invoices, openInvoice, subscriptionWithPendingPayment } from "@/features/billing/fixtures";
import { BillingApiError } from "../fetchers/http";
import { CardSetupError, PaymentAuthenticationError } from "../fetchers/stripe-test-cards";
import { billingKeys } from "./keys";
import {
  ChangeStillApplyingError,
  useAddTestCard,
  useAuthenticateTestPayment,
  useAwaitChangeApplied,
  useFinishAddingCard,
  usePayInvoice,
  usePlanChange,
} from "./mutations";
import { useInvoices, useUpcomingInvoice } from "./queries";

const STRIPE = { stripeFakeUrl: "http://stripe.test", stripeFakePublishableKey: "pk_test_x" };

interface Sent {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | null;
  mode?: RequestMode;
}

/** Answers by "METHOD url" and records every request. */
function stubFetch(answers: Record<string, () => Response>) {
  const sent: Sent[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (url: string, init: RequestInit = {}) => {
      const method = init.method ?? "GET";
      sent.push({
        method,
        url,
        headers: (init.headers ?? {}) as Record<string, string>,
        body: init.body ? String(init.body) : null,
        mode: init.mode,
      });
      const answer = answers[`${method} ${url}`];
      if (!answer) throw new Error(`unexpected request: ${method} ${url}`);
      return answer();
    }),
  );
  return sent;
}

const json = (status: number, body: unknown) => () => new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
/** Stands in for a `no-cors` answer, which the caller cannot read (a real one is opaque, status 0). */
const opaque = () => new Response(null, { status: 204 });
const refused = json(503, { error: { code: "stripe_unavailable", message: "Stripe is unavailable", request_id: "req_1" } });

let queryClient: QueryClient;
const wrapper = ({ children }: { children: ReactNode }) => <QueryClientProvider client={queryClient}>{children}</QueryClientProvider>;

/** A card list in the cache, so a refresh shows as its invalidation. */
function seedCardList() {
  queryClient.setQueryData(billingKeys.paymentMethods(), { payment_methods: [] });
}
const cardListInvalidated = () => queryClient.getQueryState(billingKeys.paymentMethods())?.isInvalidated;

beforeEach(() => {
  queryClient = new QueryClient({ defaultOptions: { queries: { retry: false }, mutations: { retry: false } } });
});
afterEach(() => vi.unstubAllGlobals());

describe("useFinishAddingCard (set default, then refresh)", () => {
  it("surfaces a refused default as its error, and still refreshes the card list", async () => {
    const sent = stubFetch({ "PUT /api/billing/payment-methods/default": refused });
    seedCardList();
    const { result } = renderHook(() => useFinishAddingCard(), { wrapper });

    act(() => result.current.mutate({ paymentMethodId: "pm_new", makeDefault: true }));

    await waitFor(() => expect(result.current.error).toBeInstanceOf(BillingApiError));
    expect(result.current.error).toMatchObject({ status: 503, code: "stripe_unavailable" });
    expect(result.current.isSuccess).toBe(false);
    expect(sent).toHaveLength(1);
    expect(cardListInvalidated()).toBe(true);
  });

  it("sets the default with the action's key, then refreshes", async () => {
    const sent = stubFetch({ "PUT /api/billing/payment-methods/default": json(200, { default_payment_method: "pm_new" }) });
    seedCardList();
    const { result } = renderHook(() => useFinishAddingCard(), { wrapper });

    act(() => result.current.mutate({ paymentMethodId: "pm_new", makeDefault: true }));

    await waitFor(() => expect(result.current.isSuccess).toBe(true));
    expect(JSON.parse(sent[0]!.body!)).toEqual({ payment_method_id: "pm_new" });
    expect(sent[0]!.headers["Idempotency-Key"]).toMatch(/\S/);
    expect(cardListInvalidated()).toBe(true);
  });

  it("only refreshes when the org already has a default", async () => {
    const sent = stubFetch({});
    seedCardList();
    const { result } = renderHook(() => useFinishAddingCard(), { wrapper });

    act(() => result.current.mutate({ paymentMethodId: "pm_new", makeDefault: false }));

    await waitFor(() => expect(result.current.isSuccess).toBe(true));
    expect(sent).toEqual([]);
    expect(cardListInvalidated()).toBe(true);
  });
});

describe("useAddTestCard", () => {
  const confirmUrl = "POST http://stripe.test/v1/setup_intents/seti_1/confirm";
  const setupIntent = { "POST /api/billing/setup-intents": json(201, { id: "seti_1", client_secret: "seti_1_secret_x" }) };

  it("creates a SetupIntent, confirms it with the test card, makes the card the default", async () => {
    const sent = stubFetch({
      ...setupIntent,
      [confirmUrl]: json(200, { status: "succeeded", payment_method: "pm_new" }),
      "PUT /api/billing/payment-methods/default": json(200, { default_payment_method: "pm_new" }),
    });
    const { result } = renderHook(() => useAddTestCard(STRIPE), { wrapper });

    act(() => result.current.mutate({ cardToken: "pm_card_visa", makeDefault: true }));

    await waitFor(() => expect(result.current.data).toBe("pm_new"));
    expect(sent.map((r) => `${r.method} ${r.url}`)).toEqual([
      "POST /api/billing/setup-intents",
      "POST http://stripe.test/v1/setup_intents/seti_1/confirm",
      "PUT /api/billing/payment-methods/default",
    ]);
    const confirm = new URLSearchParams(sent[1]!.body!);
    expect(confirm.get("client_secret")).toBe("seti_1_secret_x");
    expect(confirm.get("payment_method")).toBe("pm_card_visa");
    expect(sent[1]!.headers.Authorization).toBe("Bearer pk_test_x");
    // One user action: both BFF calls carry its key, told apart by step.
    const [intentKey, defaultKey] = [sent[0]!.headers["Idempotency-Key"]!, sent[2]!.headers["Idempotency-Key"]!];
    expect(intentKey.replace(/:setup-intent$/, "")).toBe(defaultKey.replace(/:default$/, ""));
    expect(intentKey).not.toBe(defaultKey);
  });

  it("passes a card's 3-D Secure at setup, then reads the intent back for the saved card", async () => {
    const sent = stubFetch({
      ...setupIntent,
      [confirmUrl]: json(200, { status: "requires_action", payment_method: "pm_3ds" }),
      "POST http://stripe.test/_fake/setup_intents/seti_1/authenticate": opaque,
      "GET http://stripe.test/v1/setup_intents/seti_1?client_secret=seti_1_secret_x": json(200, { status: "succeeded", payment_method: "pm_3ds" }),
      "PUT /api/billing/payment-methods/default": json(200, { default_payment_method: "pm_3ds" }),
    });
    const { result } = renderHook(() => useAddTestCard(STRIPE), { wrapper });

    act(() => result.current.mutate({ cardToken: "pm_card_authenticationRequired", makeDefault: true }));

    await waitFor(() => expect(result.current.data).toBe("pm_3ds"));
    const challenge = sent[2]!;
    expect(challenge.mode).toBe("no-cors"); // the fake's challenge route answers no CORS
    expect(challenge.body).toBeNull(); // an empty body passes the challenge
    expect(sent[3]!.headers.Authorization).toBe("Bearer pk_test_x");
  });

  it("shows a declined card as its error, with nothing set as default", async () => {
    const sent = stubFetch({
      ...setupIntent,
      [confirmUrl]: json(402, { error: { code: "card_declined", decline_code: "generic_decline", message: "Your card was declined." } }),
    });
    const { result } = renderHook(() => useAddTestCard(STRIPE), { wrapper });

    act(() => result.current.mutate({ cardToken: "pm_card_chargeDeclined", makeDefault: true }));

    await waitFor(() => expect(result.current.error).toBeInstanceOf(CardSetupError));
    expect(result.current.error).toMatchObject({ code: "generic_decline", message: "Your card was declined." });
    expect(sent).toHaveLength(2);
  });

  it("surfaces a refused default after the card was saved", async () => {
    stubFetch({
      ...setupIntent,
      [confirmUrl]: json(200, { status: "succeeded", payment_method: "pm_new" }),
      "PUT /api/billing/payment-methods/default": refused,
    });
    seedCardList();
    const { result } = renderHook(() => useAddTestCard(STRIPE), { wrapper });

    act(() => result.current.mutate({ cardToken: "pm_card_visa", makeDefault: true }));

    await waitFor(() => expect(result.current.error).toMatchObject({ code: "stripe_unavailable" }));
    expect(result.current.data).toBeUndefined();
    expect(cardListInvalidated()).toBe(true);
  });
});

describe("useUpcomingInvoice", () => {
  it("asks only when the API says there is an upcoming invoice", async () => {
    const sent = stubFetch({ "POST /api/billing/invoice-preview": json(200, { lines: [] }) });
    const { rerender } = renderHook(({ subscription }) => useUpcomingInvoice(subscription), {
      wrapper,
      initialProps: { subscription: { ...activeSubscription, has_upcoming_invoice: false } },
    });
    expect(sent).toEqual([]);

    rerender({ subscription: activeSubscription });

    await waitFor(() => expect(sent).toHaveLength(1));
  });
});

const apiError = (status: number, code: string, extra: Record<string, unknown> = {}) =>
  json(status, { error: { code, message: `${code} message`, request_id: "req_x", ...extra } });
const upgradeNow = { plan: "pro_monthly", timing: "immediate" as const, proration_behavior: "always_invoice" as const, proration_date: 1 };

describe("usePlanChange", () => {
  it("turns a 402 into a typed error with the decline code, and refreshes the subscription", async () => {
    stubFetch({ "POST /api/billing/subscription/plan-change": apiError(402, "payment_failed", { decline_code: "insufficient_funds" }) });
    queryClient.setQueryData(billingKeys.subscription(), activeSubscription);
    const { result } = renderHook(() => usePlanChange(), { wrapper });

    act(() => result.current.mutate(upgradeNow));

    await waitFor(() => expect(result.current.error).toBeInstanceOf(BillingApiError));
    expect(result.current.error).toMatchObject({ status: 402, code: "payment_failed", declineCode: "insufficient_funds", requestId: "req_x" });
    // The change now waits for its invoice: the subscription is asked again for `pending_payment`.
    await waitFor(() => expect(queryClient.getQueryState(billingKeys.subscription())?.isInvalidated).toBe(true));
  });

  it("leaves the decline code empty when the API gives none", async () => {
    stubFetch({ "POST /api/billing/subscription/plan-change": apiError(402, "payment_failed") });
    const { result } = renderHook(() => usePlanChange(), { wrapper });

    act(() => result.current.mutate(upgradeNow));

    await waitFor(() => expect(result.current.error).toMatchObject({ code: "payment_failed", declineCode: null }));
  });

  it("hands over the client secret when the payment needs authentication", async () => {
    const answer = { ...subscriptionWithPendingPayment, requires_action: true, client_secret: "pi_1_secret_y" };
    stubFetch({ "POST /api/billing/subscription/plan-change": json(200, answer) });
    const { result } = renderHook(() => usePlanChange(), { wrapper });

    let changed: unknown;
    await act(async () => {
      changed = await result.current.mutateAsync(upgradeNow);
    });

    expect(changed).toMatchObject({ requires_action: true, client_secret: "pi_1_secret_y", plan: "starter_monthly" });
  });
});

describe("useAuthenticateTestPayment", () => {
  const challenge = "POST http://stripe.test/_fake/payment_intents/pi_1/authenticate";
  const readBack = "GET http://stripe.test/v1/payment_intents/pi_1?client_secret=pi_1_secret_y";

  it("passes the fake's challenge for the intent of the client secret, and reads the paid intent back", async () => {
    const sent = stubFetch({ [challenge]: opaque, [readBack]: json(200, { status: "succeeded" }) });
    const { result } = renderHook(() => useAuthenticateTestPayment(STRIPE), { wrapper });

    act(() => result.current.mutate({ clientSecret: "pi_1_secret_y", fail: false }));

    await waitFor(() => expect(result.current.isSuccess).toBe(true));
    expect(sent.map((r) => `${r.method} ${r.url}`)).toEqual([challenge, readBack]);
    expect(sent[0]!.mode).toBe("no-cors");
    expect(sent[1]!.headers.Authorization).toBe("Bearer pk_test_x");
  });

  it("fails the challenge when asked to: a PaymentAuthenticationError", async () => {
    const sent = stubFetch({
      [challenge]: opaque,
      [readBack]: json(200, {
        status: "requires_payment_method",
        last_payment_error: { code: "payment_intent_authentication_failure", message: "We are unable to authenticate your payment method." },
      }),
    });
    const { result } = renderHook(() => useAuthenticateTestPayment(STRIPE), { wrapper });

    act(() => result.current.mutate({ clientSecret: "pi_1_secret_y", fail: true }));

    await waitFor(() => expect(result.current.error).toBeInstanceOf(PaymentAuthenticationError));
    expect(result.current.error).toMatchObject({ code: "payment_intent_authentication_failure" });
    expect(JSON.parse(sent[0]!.body!)).toEqual({ fail: true });
  });
});

describe("useAwaitChangeApplied", () => {
  const subscriptionUrl = "GET /api/billing/subscription";

  it("asks again until no payment is pending, then stops and refreshes", async () => {
    const answers = [subscriptionWithPendingPayment, subscriptionWithPendingPayment, { ...activeSubscription, plan: "pro_monthly" }];
    let asked = 0;
    const sent = stubFetch({ [subscriptionUrl]: () => json(200, answers[Math.min(asked++, answers.length - 1)])() });
    queryClient.setQueryData(billingKeys.paymentMethods(), { payment_methods: [] });
    const { result } = renderHook(() => useAwaitChangeApplied({ attempts: 5, intervalMs: 1 }), { wrapper });

    act(() => result.current.mutate());

    await waitFor(() => expect(result.current.data).toMatchObject({ plan: "pro_monthly", pending_payment: null }));
    expect(sent).toHaveLength(3);
    expect(cardListInvalidated()).toBe(true);
  });

  it("gives up after its attempts with ChangeStillApplyingError", async () => {
    const sent = stubFetch({ [subscriptionUrl]: json(200, subscriptionWithPendingPayment) });
    const { result } = renderHook(() => useAwaitChangeApplied({ attempts: 3, intervalMs: 1 }), { wrapper });

    act(() => result.current.mutate());

    await waitFor(() => expect(result.current.error).toBeInstanceOf(ChangeStillApplyingError));
    expect(sent).toHaveLength(3);
  });
});

describe("useInvoices (cursor pages)", () => {
  it("asks for the first page, then the one after next_cursor, and lists both", async () => {
    const [first, second] = [invoices.slice(0, 2), invoices.slice(2)];
    const sent = stubFetch({
      "GET /api/billing/invoices?limit=10": json(200, { invoices: first, has_more: true, next_cursor: "in_1Void" }),
      "GET /api/billing/invoices?limit=10&starting_after=in_1Void": json(200, { invoices: second, has_more: false, next_cursor: null }),
    });
    const { result } = renderHook(() => useInvoices(), { wrapper });

    await waitFor(() => expect(result.current.data).toEqual(first));
    expect(result.current.hasNextPage).toBe(true);
    await act(() => result.current.fetchNextPage());

    await waitFor(() => expect(result.current.data).toEqual(invoices));
    expect(result.current.hasNextPage).toBe(false);
    expect(sent.map((r) => r.url)).toEqual(["/api/billing/invoices?limit=10", "/api/billing/invoices?limit=10&starting_after=in_1Void"]);
  });
});

describe("usePayInvoice", () => {
  const payUrl = "POST /api/billing/invoices/in_1Upgrade/pay";
  const seed = () => {
    queryClient.setQueryData(billingKeys.subscription(), subscriptionWithPendingPayment);
    queryClient.setQueryData(billingKeys.customer(), { customer_id: "cus_1" });
    queryClient.setQueryData(billingKeys.invoices(), { pages: [{ invoices, has_more: false }], pageParams: [undefined] });
  };
  const refreshed = () =>
    [billingKeys.subscription(), billingKeys.customer(), billingKeys.invoices()].map((key) => queryClient.getQueryState(key)?.isInvalidated);

  it("pays with the action's key and refreshes invoices, subscription and customer", async () => {
    const sent = stubFetch({ [payUrl]: json(200, { invoice: { ...openInvoice, status: "paid" }, requires_action: false, client_secret: null }) });
    seed();
    const { result } = renderHook(() => usePayInvoice(), { wrapper });

    act(() => result.current.mutate("in_1Upgrade"));

    await waitFor(() => expect(result.current.isSuccess).toBe(true));
    expect(sent[0]!.headers["Idempotency-Key"]).toMatch(/\S/);
    expect(refreshed()).toEqual([true, true, true]);
  });

  it("a declined card: a typed error with its decline code, and still a refresh", async () => {
    stubFetch({
      [payUrl]: json(402, {
        error: { code: "payment_failed", message: "Your card was declined.", request_id: "req_402", decline_code: "generic_decline" },
      }),
    });
    seed();
    const { result } = renderHook(() => usePayInvoice(), { wrapper });

    act(() => result.current.mutate("in_1Upgrade"));

    await waitFor(() => expect(result.current.error).toBeInstanceOf(BillingApiError));
    expect(result.current.error).toMatchObject({ status: 402, code: "payment_failed", declineCode: "generic_decline", requestId: "req_402" });
    await waitFor(() => expect(refreshed()).toEqual([true, true, true]));
  });

  it("an invoice no longer payable (409) refreshes; another refusal does not", async () => {
    stubFetch({ [payUrl]: json(409, { error: { code: "invoice_not_payable", message: "not open", request_id: "req_409" } }) });
    seed();
    const { result } = renderHook(() => usePayInvoice(), { wrapper });
    act(() => result.current.mutate("in_1Upgrade"));
    await waitFor(() => expect(refreshed()).toEqual([true, true, true]));

    queryClient.clear();
    stubFetch({ [payUrl]: refused });
    seed();
    act(() => result.current.mutate("in_1Upgrade"));
    await waitFor(() => expect(result.current.error).toMatchObject({ code: "stripe_unavailable" }));
    expect(refreshed()).toEqual([false, false, false]);
  });
});
