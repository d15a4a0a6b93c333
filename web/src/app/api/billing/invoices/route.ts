import type { NextRequest } from "next/server";
import type { InvoiceListQuery } from "@/api/types";
import { errorResponse, forwardRead } from "@/server/bff";
import { billingService as billing } from "@/server/services/billing";

export const dynamic = "force-dynamic";

/** The page query (`limit`, `starting_after`) goes through as sent; the API checks its ranges. */
export function GET(request: NextRequest) {
  const params = request.nextUrl.searchParams;
  const query: InvoiceListQuery = {};
  const limit = params.get("limit");
  if (limit !== null) {
    if (!/^\d+$/.test(limit)) return errorResponse(400, "invalid_request", "limit must be a whole number.");
    query.limit = Number(limit);
  }
  const startingAfter = params.get("starting_after");
  if (startingAfter !== null) query.starting_after = startingAfter;
  return forwardRead(request, (caller) => billing.listInvoices(caller, query));
}
