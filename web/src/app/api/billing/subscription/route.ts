import type { NextRequest } from "next/server";
import type { StartSubscriptionBody } from "@/api/types";
import { forwardRead, forwardWrite } from "@/server/bff";
import { billingService as billing } from "@/server/services/billing";

export const dynamic = "force-dynamic";

export function GET(request: NextRequest) {
  return forwardRead(request, (caller) => billing.getSubscription(caller));
}

export function POST(request: NextRequest) {
  return forwardWrite<StartSubscriptionBody>(request, (caller, body) => billing.startSubscription(caller, body));
}
