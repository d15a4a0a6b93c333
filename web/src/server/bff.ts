/**
 * The BFF's plumbing for route handlers under src/app/api/billing: the caller's token from the
 * httpOnly session cookie, one Idempotency-Key per user action, and the API's answer (or error
 * envelope) passed through with its status.
 */
import { randomUUID } from "node:crypto";
import { NextResponse, type NextRequest } from "next/server";
import type { ErrorEnvelope } from "@/api/types";
import type { Caller } from "./api-client";
import { serverConfig } from "./config";
import { decodeSession } from "./session";
import type { ApiResult } from "./services/result";

/** The API's rule: 1–200 visible ASCII characters. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;
const NO_STORE = { "Cache-Control": "no-store" };

export function errorResponse(status: number, code: string, message: string): NextResponse<ErrorEnvelope> {
  return NextResponse.json({ error: { code, message, request_id: "" } }, { status, headers: NO_STORE });
}

export function toResponse<T>(result: ApiResult<T>): NextResponse {
  const headers: Record<string, string> = { ...NO_STORE };
  if (result.requestId) headers["X-Request-Id"] = result.requestId;
  return NextResponse.json(result.ok ? result.data : result.error, { status: result.status, headers });
}

/**
 * The browser sends one key per user action (so a retried action replays instead of repeating);
 * a request without one gets a fresh key here.
 */
export function idempotencyKeyOf(request: NextRequest): string | NextResponse {
  const sent = request.headers.get("idempotency-key");
  if (sent === null) return randomUUID();
  return IDEMPOTENCY_KEY.test(sent)
    ? sent
    : errorResponse(400, "invalid_idempotency_key", "Idempotency-Key must be 1–200 visible ASCII characters.");
}

/** Mutations only from pages of this app: the Origin (when sent) must be this host. */
function crossOrigin(request: NextRequest): boolean {
  const origin = request.headers.get("origin");
  if (!origin) return false;
  try {
    return new URL(origin).host !== request.headers.get("host");
  } catch {
    return true;
  }
}

async function jsonBody(request: NextRequest): Promise<{ body: unknown } | NextResponse> {
  const text = await request.text();
  if (text.trim() === "") return { body: undefined };
  try {
    return { body: JSON.parse(text) as unknown };
  } catch {
    return errorResponse(400, "invalid_json", "The request body is not valid JSON.");
  }
}

type Handler<B> = (caller: Caller, body: B) => Promise<ApiResult<unknown>>;

/** A read: the caller's token, forwarded. */
export async function forwardRead(request: NextRequest, handler: Handler<undefined>): Promise<NextResponse> {
  const session = decodeSession(request.cookies.get(serverConfig.sessionCookie)?.value);
  if (!session) return errorResponse(401, "unauthenticated", "Sign in to see billing.");
  return toResponse(await handler({ token: session.token }, undefined));
}

/** A mutation (or a POST read such as the invoice preview): token, idempotency key, JSON body. */
export async function forwardWrite<B = unknown>(
  request: NextRequest,
  handler: Handler<B>,
  { idempotent = true }: { idempotent?: boolean } = {},
): Promise<NextResponse> {
  const session = decodeSession(request.cookies.get(serverConfig.sessionCookie)?.value);
  if (!session) return errorResponse(401, "unauthenticated", "Sign in to change billing.");
  if (crossOrigin(request)) return errorResponse(403, "cross_origin", "Requests must come from this application.");
  const key = idempotent ? idempotencyKeyOf(request) : undefined;
  if (key instanceof NextResponse) return key;
  const parsed = await jsonBody(request);
  if (parsed instanceof NextResponse) return parsed;
  return toResponse(await handler({ token: session.token, idempotencyKey: key }, parsed.body as B));
}
