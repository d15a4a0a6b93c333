import type { NextRequest } from "next/server";
import { forwardWrite } from "@/server/bff";
import { billingService as billing } from "@/server/services/billing";

export const dynamic = "force-dynamic";

export async function POST(request: NextRequest, { params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return forwardWrite(request, (caller) => billing.payInvoice(caller, id));
}
