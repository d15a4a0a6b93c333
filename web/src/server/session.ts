/**
 * The user's session: their bearer JWT in an httpOnly cookie. Browser JavaScript never sees the
 * token; the BFF reads it and forwards it to the billing API. The claims are decoded here only to
 * render the page (org, role); the API's authorizer is what verifies the token.
 */
import { createHmac } from "node:crypto";
import { cookies } from "next/headers";
import type { Role } from "@/api/types";
import { serverConfig } from "./config";

export interface Session {
  token: string;
  userId: string;
  orgId: string;
  role: Role | string;
  expiresAt: number;
}

function base64url(input: Buffer | string): string {
  return Buffer.from(input).toString("base64url");
}

/** Claims of a JWT without verifying it (display only), or null if it is not a JWT or has expired. */
export function decodeSession(token: string | undefined, nowS = Math.floor(Date.now() / 1000)): Session | null {
  if (!token) return null;
  const parts = token.split(".");
  if (parts.length !== 3 || !parts[1]) return null;
  try {
    const claims = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8")) as Record<string, unknown>;
    const exp = typeof claims.exp === "number" ? claims.exp : 0;
    if (exp <= nowS) return null;
    return {
      token,
      userId: String(claims.sub ?? ""),
      orgId: String(claims.org_id ?? ""),
      role: String(claims.role ?? ""),
      expiresAt: exp,
    };
  } catch {
    return null;
  }
}

/** The session of the current request (server components, route handlers). */
export async function currentSession(): Promise<Session | null> {
  const jar = await cookies();
  return decodeSession(jar.get(serverConfig.sessionCookie)?.value);
}

export const DEV_ORG_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
export const DEV_ROLES = ["owner", "admin", "viewer"] as const;
export const DEV_TOKEN_TTL_S = 8 * 3600;

/** A local dev token (HS256 with the local stack's public secret), as scripts/dev-token mints it. */
export function mintDevToken(orgId: string, role: string, userId = "user_local_dev", nowS = Math.floor(Date.now() / 1000)): string {
  const { secret, issuer, audience } = serverConfig.devJwt;
  const header = base64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const payload = base64url(
    JSON.stringify({
      sub: userId,
      org_id: orgId,
      role,
      iss: issuer,
      aud: audience,
      iat: nowS,
      nbf: nowS,
      exp: nowS + DEV_TOKEN_TTL_S,
    }),
  );
  const signature = createHmac("sha256", secret).update(`${header}.${payload}`).digest("base64url");
  return `${header}.${payload}.${signature}`;
}

export function sessionCookieOptions(secure: boolean, maxAgeS: number) {
  return {
    httpOnly: true,
    sameSite: "lax" as const,
    secure,
    path: "/",
    maxAge: maxAgeS,
  };
}
