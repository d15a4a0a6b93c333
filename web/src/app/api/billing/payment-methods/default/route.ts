import type { NextRequest } from "next/server";
import type { SetDefaultBody } from "@/api/types";
import { forwardWrite } from "@/server/bff";
import { billingService as billing } from "@/server/services/billing";

export const dynamic = "force-dynamic";

export function PUT(request: NextRequest) {
  return forwardWrite<SetDefaultBody>(request, (caller, body) => billing.setDefaultPaymentMethod(caller, body));
}
