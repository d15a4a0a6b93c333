/**
 * Local development sign-in: mints a dev JWT server-side for the chosen org and role and stores it
 * in the httpOnly session cookie. Off unless DEV_SIGN_IN=true (or `next dev`).
 */
import { NextResponse, type NextRequest } from "next/server";
import { errorResponse } from "@/server/bff";
import { serverConfig } from "@/server/config";
import { DEV_ORG_PATTERN, DEV_ROLES, DEV_TOKEN_TTL_S, mintDevToken, sessionCookieOptions } from "@/server/session";

export const dynamic = "force-dynamic";

function redirectTo(request: NextRequest, path: string): NextResponse {
  // Relative to the Host the browser used (127.0.0.1 or localhost), so the cookie and page agree.
  const host = request.headers.get("host") ?? request.nextUrl.host;
  return NextResponse.redirect(`${request.nextUrl.protocol}//${host}${path}`, 303);
}

export async function POST(request: NextRequest) {
  if (!serverConfig.devSignIn) return errorResponse(404, "not_found", "Development sign-in is disabled.");
  const origin = request.headers.get("origin");
  if (origin && new URL(origin).host !== request.headers.get("host")) {
    return errorResponse(403, "cross_origin", "Requests must come from this application.");
  }
  const form = await request.formData();
  const secure = request.nextUrl.protocol === "https:";
  if (form.get("action") === "sign-out") {
    const response = redirectTo(request, "/dev/sign-in");
    response.cookies.set(serverConfig.sessionCookie, "", sessionCookieOptions(secure, 0));
    return response;
  }
  const org = String(form.get("org") ?? "").trim();
  const role = String(form.get("role") ?? "");
  if (!DEV_ORG_PATTERN.test(org) || !(DEV_ROLES as readonly string[]).includes(role)) {
    return errorResponse(400, "invalid_request", "Choose an org id (letters, digits, _ and -) and a role.");
  }
  const user = String(form.get("user") ?? "").trim() || "user_local_dev";
  const response = redirectTo(request, "/billing");
  response.cookies.set(serverConfig.sessionCookie, mintDevToken(org, role, user), sessionCookieOptions(secure, DEV_TOKEN_TTL_S));
  return response;
}
