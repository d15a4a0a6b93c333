/**
 * The typed billing API client (openapi-fetch over the generated `schema.d.ts`). Server-only: it
 * carries the user's bearer token.
 */
import createClient from "openapi-fetch";
import type { paths } from "@/api/schema";
import { serverConfig } from "./config";

export interface Caller {
  /** The user's JWT, forwarded as `Authorization: Bearer …`. */
  token: string;
  /** One per user action, forwarded as `Idempotency-Key` on mutations. */
  idempotencyKey?: string;
}

export function apiClient(caller: Caller) {
  const headers: Record<string, string> = { Authorization: `Bearer ${caller.token}`, Accept: "application/json" };
  if (caller.idempotencyKey) headers["Idempotency-Key"] = caller.idempotencyKey;
  return createClient<paths>({
    baseUrl: serverConfig.apiUrl,
    headers,
    fetch: (request: Request) => fetch(request, { signal: AbortSignal.timeout(serverConfig.apiTimeoutMs), cache: "no-store" }),
  });
}

export type ApiClient = ReturnType<typeof apiClient>;
