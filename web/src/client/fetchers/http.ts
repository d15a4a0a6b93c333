/** Browser-side calls to the BFF (same origin; the session cookie goes along, the token never). */
import type { ErrorEnvelope } from "@/api/types";

export class BillingApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId: string,
    /** Why the bank declined a payment (402 `payment_failed`), when the API says. */
    readonly declineCode: string | null = null,
  ) {
    super(message);
    this.name = "BillingApiError";
  }
}

export function newIdempotencyKey(): string {
  return typeof crypto !== "undefined" && "randomUUID" in crypto
    ? crypto.randomUUID()
    : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

export interface BffRequest {
  method?: "GET" | "POST" | "PUT" | "DELETE";
  body?: unknown;
  idempotencyKey?: string;
  signal?: AbortSignal;
}

export const BFF_BASE = "/api/billing";

export async function bff<T>(path: string, { method = "GET", body, idempotencyKey, signal }: BffRequest = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
  let response: Response;
  try {
    response = await fetch(`${BFF_BASE}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
      signal,
    });
  } catch (cause) {
    if (cause instanceof DOMException && cause.name === "AbortError") throw cause;
    throw new BillingApiError(0, "network_error", "The billing service cannot be reached. Check your connection.", "");
  }
  const text = await response.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!response.ok) {
    const envelope = json as Partial<ErrorEnvelope> | null;
    const error = envelope?.error;
    throw new BillingApiError(
      response.status,
      error?.code ?? "request_failed",
      error?.message ?? `Request failed (HTTP ${response.status}).`,
      error?.request_id ?? response.headers.get("x-request-id") ?? "",
      error?.decline_code ?? null,
    );
  }
  return json as T;
}

/** `null` for the given "there is none" error codes (e.g. 404 subscription_not_found). */
export async function orNull<T>(promise: Promise<T>, ...noneCodes: string[]): Promise<T | null> {
  try {
    return await promise;
  } catch (error) {
    if (error instanceof BillingApiError && noneCodes.includes(error.code)) return null;
    throw error;
  }
}
