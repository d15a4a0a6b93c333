import type { NextRequest } from "next/server";
import { forwardWrite } from "@/server/bff";
import { billingService as billing } from "@/server/services/billing";

export const dynamic = "force-dynamic";

export function POST(request: NextRequest) {
  return forwardWrite(request, (caller) => billing.resumeSubscription(caller));
}
