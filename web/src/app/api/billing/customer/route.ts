import type { NextRequest } from "next/server";
import { forwardRead, forwardWrite } from "@/server/bff";
import { billingService as billing } from "@/server/services/billing";

export const dynamic = "force-dynamic";

export function GET(request: NextRequest) {
  return forwardRead(request, (caller) => billing.getCustomer(caller));
}

export function POST(request: NextRequest) {
  return forwardWrite(request, (caller) => billing.ensureCustomer(caller));
}
