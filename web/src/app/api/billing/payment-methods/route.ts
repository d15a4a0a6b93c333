import type { NextRequest } from "next/server";
import { forwardRead } from "@/server/bff";
import { billingService as billing } from "@/server/services/billing";

export const dynamic = "force-dynamic";

export function GET(request: NextRequest) {
  return forwardRead(request, (caller) => billing.listPaymentMethods(caller));
}
