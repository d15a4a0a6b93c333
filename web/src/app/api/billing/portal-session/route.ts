import type { NextRequest } from "next/server";
import type { PortalSessionBody } from "@/api/types";
import { forwardWrite } from "@/server/bff";
import { billingService as billing } from "@/server/services/billing";

export const dynamic = "force-dynamic";

export function POST(request: NextRequest) {
  return forwardWrite<PortalSessionBody | undefined>(request, (caller, body) => billing.createPortalSession(caller, body ?? {}));
}
