// @vitest-environment node
import { createHmac } from "node:crypto";
import { NextRequest, NextResponse } from "next/server";
import { describe, expect, it, vi } from "vitest";
import { forwardWrite, idempotencyKeyOf, toResponse } from "./bff";
import { serverConfig } from "./config";
import { settle, toEnvelope } from "./services/result";
import { decodeSession, mintDevToken } from "./session";

describe("dev tokens", () => {
  it("are HS256 with the local stack's settings, and decode back", () => {
    const token = mintDevToken("org_a", "viewer", "user_x", 1_000);
    const [head, body, signature] = token.split(".");
    const expected = createHmac("sha256", "local-dev-only-hs256-secret-do-not-use-in-prod").update(`${head}.${body}`).digest("base64url");
    expect(signature).toBe(expected);
    const claims = JSON.parse(Buffer.from(body!, "base64url").toString()) as Record<string, unknown>;
    expect(claims).toMatchObject({ sub: "user_x", org_id: "org_a", role: "viewer", iss: "billing-local-dev", aud: "billing-api" });
    expect(decodeSession(token, 1_001)).toMatchObject({ orgId: "org_a", role: "viewer", userId: "user_x" });
  });

  it("expired or malformed tokens are no session", () => {
    expect(decodeSession(mintDevToken("org_a", "owner", "u", 0), 10 ** 9)).toBeNull();
    expect(decodeSession("not-a-jwt")).toBeNull();
    expect(decodeSession(undefined)).toBeNull();
  });
});

describe("error envelopes", () => {
  it("pass the API's envelope through", () => {
    const envelope = { error: { code: "default_payment_method_required", message: "m", request_id: "r1" } };
    expect(toEnvelope(409, envelope, "r1")).toBe(envelope);
  });

  it("wrap API Gateway's own answers", () => {
    expect(toEnvelope(403, { message: "Forbidden" }, "gw1")).toEqual({ error: { code: "forbidden", message: "Forbidden", request_id: "gw1" } });
    expect(toEnvelope(401, { message: "Unauthorized" }, null).error.code).toBe("unauthenticated");
    expect(toEnvelope(502, "<html>", null).error.code).toBe("upstream_error");
  });

  it("keep the API's status in the BFF's answer", async () => {
    const response = new Response(JSON.stringify({ error: { code: "forbidden", message: "no", request_id: "abc" } }), {
      status: 403,
      headers: { "apigw-requestid": "abc" },
    });
    const result = settle({ error: await response.clone().json(), response });
    const forwarded = toResponse(result);
    expect(forwarded.status).toBe(403);
    expect(forwarded.headers.get("x-request-id")).toBe("abc");
    expect(await forwarded.json()).toEqual({ error: { code: "forbidden", message: "no", request_id: "abc" } });
  });
});

describe("idempotency keys", () => {
  const request = (key?: string) =>
    new NextRequest("http://127.0.0.1:3001/api/billing/subscription", { method: "POST", headers: key === undefined ? {} : { "Idempotency-Key": key } });

  it("forwards the browser's key for the action, or makes one", () => {
    expect(idempotencyKeyOf(request("action-1"))).toBe("action-1");
    const made = idempotencyKeyOf(request());
    expect(typeof made).toBe("string");
    expect(made).not.toBe(idempotencyKeyOf(request()));
  });

  it("refuses keys the API would refuse", async () => {
    const refused = idempotencyKeyOf(request("has space"));
    expect(refused).toBeInstanceOf(NextResponse);
    expect((refused as NextResponse).status).toBe(400);
  });
});

describe("cross-site mutations", () => {
  const mutation = (origin?: string) => {
    const headers: Record<string, string> = {
      host: "127.0.0.1:3001",
      cookie: `${serverConfig.sessionCookie}=${mintDevToken("org_a", "owner", "user_x")}`,
      "content-type": "application/json",
    };
    if (origin !== undefined) headers.origin = origin;
    return new NextRequest("http://127.0.0.1:3001/api/billing/subscription/cancel", {
      method: "POST",
      headers,
      body: JSON.stringify({ at_period_end: true }),
    });
  };
  const forwarded: unknown[] = [];
  const handler = async (_caller: unknown, body: unknown) => {
    forwarded.push(body);
    return settle({ data: { ok: true }, response: new Response(null, { status: 200 }) });
  };

  it("are refused before the API is called", async () => {
    forwarded.length = 0;
    for (const origin of ["https://evil.example", "http://127.0.0.1:9999", "null"]) {
      const response = await forwardWrite(mutation(origin), handler);
      expect(response.status).toBe(403);
      expect((await response.json()).error.code).toBe("cross_origin");
    }
    expect(forwarded).toEqual([]);
  });

  it("from the app's own pages are forwarded", async () => {
    forwarded.length = 0;
    expect((await forwardWrite(mutation("http://127.0.0.1:3001"), handler)).status).toBe(200);
    expect(forwarded).toEqual([{ at_period_end: true }]);
  });
});

describe("a declined plan change (402 payment_failed)", () => {
  const declined = {
    error: { code: "payment_failed", message: "Your card has insufficient funds.", request_id: "req_402", decline_code: "insufficient_funds" },
  };

  it("reaches the browser as the API sent it: status, envelope and decline code", async () => {
    const { POST } = await import("@/app/api/billing/subscription/plan-change/route");
    const sent: Request[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(async (request: Request) => {
        sent.push(request);
        return new Response(JSON.stringify(declined), {
          status: 402,
          headers: { "Content-Type": "application/json", "apigw-requestid": "req_402" },
        });
      }),
    );
    try {
      const body = { plan: "pro_monthly", timing: "immediate", proration_behavior: "always_invoice", proration_date: 1_767_225_600 };
      const response = await POST(
        new NextRequest("http://127.0.0.1:3001/api/billing/subscription/plan-change", {
          method: "POST",
          headers: {
            host: "127.0.0.1:3001",
            origin: "http://127.0.0.1:3001",
            cookie: `${serverConfig.sessionCookie}=${mintDevToken("org_a", "owner", "user_x")}`,
            "content-type": "application/json",
            "idempotency-key": "action-402",
          },
          body: JSON.stringify(body),
        }),
      );
      expect(response.status).toBe(402);
      expect(await response.json()).toEqual(declined);
      expect(response.headers.get("x-request-id")).toBe("req_402");
      expect(sent).toHaveLength(1);
      expect(new URL(sent[0]!.url).pathname).toBe("/billing/subscription/plan-change");
      expect(sent[0]!.headers.get("idempotency-key")).toBe("action-402");
      expect(await sent[0]!.json()).toEqual(body);
    } finally {
      vi.unstubAllGlobals();
    }
  });
});

describe("invoices", () => {
  const sessionCookie = `${serverConfig.sessionCookie}=${mintDevToken("org_a", "owner", "user_x")}`;
  const stubApi = (status: number, body: unknown) => {
    const sent: Request[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(async (request: Request) => {
        sent.push(request);
        return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", "apigw-requestid": "req_inv" } });
      }),
    );
    return sent;
  };
  const payRequest = (origin: string) =>
    new NextRequest("http://127.0.0.1:3001/api/billing/invoices/in_1/pay", {
      method: "POST",
      headers: { host: "127.0.0.1:3001", origin, cookie: sessionCookie, "idempotency-key": "pay-1" },
    });
  const payParams = { params: Promise.resolve({ id: "in_1" }) };

  it("a page is asked for with the query as sent", async () => {
    const { GET } = await import("@/app/api/billing/invoices/route");
    const page = { invoices: [], has_more: false, next_cursor: null };
    const sent = stubApi(200, page);
    try {
      const response = await GET(
        new NextRequest("http://127.0.0.1:3001/api/billing/invoices?limit=5&starting_after=in_9", { headers: { cookie: sessionCookie } }),
      );
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual(page);
      const url = new URL(sent[0]!.url);
      expect(url.pathname).toBe("/billing/invoices");
      expect(Object.fromEntries(url.searchParams)).toEqual({ limit: "5", starting_after: "in_9" });
      expect(sent[0]!.headers.get("authorization")).toMatch(/^Bearer /);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it("a declined payment reaches the browser as the API sent it", async () => {
    const { POST } = await import("@/app/api/billing/invoices/[id]/pay/route");
    const declined = {
      error: { code: "payment_failed", message: "Your card was declined.", request_id: "req_inv", decline_code: "generic_decline" },
    };
    const sent = stubApi(402, declined);
    try {
      const response = await POST(payRequest("http://127.0.0.1:3001"), payParams);
      expect(response.status).toBe(402);
      expect(await response.json()).toEqual(declined);
      expect(new URL(sent[0]!.url).pathname).toBe("/billing/invoices/in_1/pay");
      expect(sent[0]!.method).toBe("POST");
      expect(sent[0]!.headers.get("idempotency-key")).toBe("pay-1");
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it("a payment from another site is refused before the API is called", async () => {
    const { POST } = await import("@/app/api/billing/invoices/[id]/pay/route");
    const sent = stubApi(200, {});
    try {
      const response = await POST(payRequest("https://evil.example"), payParams);
      expect(response.status).toBe(403);
      expect((await response.json()).error.code).toBe("cross_origin");
      expect(sent).toEqual([]);
    } finally {
      vi.unstubAllGlobals();
    }
  });
});
