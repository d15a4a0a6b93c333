/**
 * Server-side settings, read from the environment at request time (not inlined at build time),
 * so one `next build` serves any stack: `next start` with other ports just works.
 */
import type { PublicConfig } from "@/lib/public-config";

function env(name: string): string | undefined {
  // Indexed access on purpose: Next inlines `process.env.NEXT_PUBLIC_*` member expressions at build.
  const value = process.env[name];
  return value === undefined || value === "" ? undefined : value;
}


export const serverConfig = {
  /** BILLING_API_URL: the billing API (API Gateway); `make dev` serves it on 127.0.0.1:3000. */
  get apiUrl(): string {
    return (env("BILLING_API_URL") ?? "http://127.0.0.1:3000").replace(/\/+$/, "");
  },
  get apiTimeoutMs(): number {
    return Number(env("BILLING_API_TIMEOUT_MS") ?? 35_000);
  },
  /** DEV_SIGN_IN=true (or `next dev`): the /dev/sign-in page mints local tokens. Never in production. */
  get devSignIn(): boolean {
    return env("DEV_SIGN_IN") === "true" || (env("DEV_SIGN_IN") === undefined && process.env.NODE_ENV === "development");
  },
  /** The local stack's JWT settings (public, local only: see the repository README). */
  devJwt: {
    get secret(): string {
      return env("DEV_JWT_SECRET") ?? "local-dev-only-hs256-secret-do-not-use-in-prod";
    },
    get issuer(): string {
      return env("DEV_JWT_ISSUER") ?? "billing-local-dev";
    },
    get audience(): string {
      return env("DEV_JWT_AUDIENCE") ?? "billing-api";
    },
  },
  get sessionCookie(): string {
    return env("SESSION_COOKIE_NAME") ?? "billing_session";
  },
  publicConfig(): PublicConfig {
    return {
      enableBilling: env("NEXT_PUBLIC_ENABLE_BILLING") === "true",
      stripePublishableKey: env("NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY") ?? null,
      stripeFakeUrl: (env("STRIPE_FAKE_URL") ?? "http://127.0.0.1:12111").replace(/\/+$/, ""),
      stripeFakePublishableKey: env("STRIPE_FAKE_PUBLISHABLE_KEY") ?? "pk_test_local_dev",
      devSignIn: this.devSignIn,
    };
  },
};
