import type { ErrorEnvelope } from "@/api/types";

/** What a service call produced: the API's body and status, or its error envelope and status. */
export type ApiResult<T> =
  | { ok: true; status: number; data: T; requestId: string | null }
  | { ok: false; status: number; error: ErrorEnvelope; requestId: string | null };

function isEnvelope(body: unknown): body is ErrorEnvelope {
  if (typeof body !== "object" || body === null || !("error" in body)) return false;
  const error = (body as { error: unknown }).error;
  return typeof error === "object" && error !== null && typeof (error as { code?: unknown }).code === "string";
}

const GATEWAY_CODES: Record<number, string> = { 401: "unauthenticated", 403: "forbidden", 404: "not_found", 429: "rate_limited" };

/**
 * The API's error envelope as it came, or — for API Gateway's own `{"message": …}` answers (bad
 * token, unknown role) and non-JSON bodies — the same envelope shape with a code for the status.
 */
export function toEnvelope(status: number, body: unknown, requestId: string | null): ErrorEnvelope {
  if (isEnvelope(body)) return body;
  const message =
    typeof body === "object" && body !== null && typeof (body as { message?: unknown }).message === "string"
      ? (body as { message: string }).message
      : `The billing API answered HTTP ${status}.`;
  return { error: { code: GATEWAY_CODES[status] ?? (status >= 500 ? "upstream_error" : "request_failed"), message, request_id: requestId ?? "" } };
}

export function unavailable(cause: unknown): ApiResult<never> {
  const timeout = cause instanceof Error && (cause.name === "TimeoutError" || cause.name === "AbortError");
  return {
    ok: false,
    status: timeout ? 504 : 503,
    requestId: null,
    error: {
      error: {
        code: timeout ? "api_timeout" : "api_unavailable",
        message: timeout ? "The billing API did not answer in time." : "The billing API cannot be reached.",
        request_id: "",
      },
    },
  };
}

/** Turns an openapi-fetch answer into an ApiResult. */
export function settle<T>(answer: { data?: T; error?: unknown; response: Response }): ApiResult<T> {
  const { response } = answer;
  const requestId = response.headers.get("apigw-requestid");
  if (response.ok) return { ok: true, status: response.status, data: answer.data as T, requestId };
  return { ok: false, status: response.status, error: toEnvelope(response.status, answer.error, requestId), requestId };
}
