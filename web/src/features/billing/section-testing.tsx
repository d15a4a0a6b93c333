/** What the sections' tests share: a config without a publishable key, JSON answers, a fresh query client. */
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render } from "@testing-library/react";
import type { ReactNode } from "react";
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
