/**
 * What the sections' tests share: a config without a publishable key, JSON answers, a fresh query
 * client, and the fake Stripe's 3-D Secure challenge for the PaymentIntent `pi_1`.
 */
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render } from "@testing-library/react";
import type { ReactNode } from "react";
import { vi } from "vitest";
import type { PublicConfig } from "@/lib/public-config";

export const testConfig: PublicConfig = {
  enableBilling: true,
  stripePublishableKey: null,
  stripeFakeUrl: "http://stripe.test",
  stripeFakePublishableKey: "pk_test_x",
  devSignIn: true,
};

export const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });

/** Renders a section with its own query client (no retries), which it answers. */
export function renderSection(section: ReactNode): QueryClient {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false }, mutations: { retry: false } } });
  render(<QueryClientProvider client={client}>{section}</QueryClientProvider>);
  return client;
}

/** The client secret the API hands over for `pi_1` (`requires_action` / `requires_payment`). */
export const CLIENT_SECRET = "pi_1_secret_y";

/** The requests the test stand-in for the bank's page makes: the challenge answered, then the intent read back. */
export const challenge = {
  answer: `POST ${testConfig.stripeFakeUrl}/_fake/payment_intents/pi_1/authenticate`,
  readBack: `GET ${testConfig.stripeFakeUrl}/v1/payment_intents/pi_1?client_secret=${CLIENT_SECRET}`,
};

/** The fake's answer when the intent is read back after the challenge, `passed` or failed. */
export const readBackAfterChallenge = (passed: boolean) =>
  json(200, passed ? { status: "succeeded" } : { status: "requires_payment_method", last_payment_error: { code: "payment_intent_authentication_failure" } });

/** A card declined by the bank, as the API answers a payment (402 `payment_failed`). */
export const declined = () =>
  json(402, { error: { code: "payment_failed", message: "Your card was declined.", request_id: "req_402", decline_code: "generic_decline" } });

/**
 * Stubs `fetch` with `answer`, keyed by "METHOD url" (the BFF's and the fake Stripe's side); a
 * request it does not answer fails the test. Returns the requests made, in order.
 */
export function stubFetch(answer: (request: string) => Response | undefined): string[] {
  const asked: string[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (url: string, init: RequestInit = {}) => {
      const request = `${init.method ?? "GET"} ${url}`;
      asked.push(request);
      const response = answer(request);
      if (!response) throw new Error(`unexpected request: ${request}`);
      return response;
    }),
  );
  return asked;
}
