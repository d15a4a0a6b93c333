import type { NextRequest } from "next/server";
import type { PreviewRequest } from "@/api/types";
import { forwardWrite } from "@/server/bff";
import { billingService as billing } from "@/server/services/billing";

export const dynamic = "force-dynamic";

/** A read over POST (viewers may preview): no idempotency key. */
export function POST(request: NextRequest) {
  return forwardWrite<PreviewRequest | undefined>(request, (caller, body) => billing.previewInvoice(caller, body), {
    idempotent: false,
  });
}
