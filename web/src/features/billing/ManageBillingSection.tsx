"use client";

import { usePortalSession } from "@/client/hooks/mutations";
import { ManageBillingPanel } from "./ManageBillingPanel";

/** The portal panel's workflow: a Customer Portal session, then this tab goes there. */
export function ManageBillingSection({ canManage }: { canManage: boolean }) {
  const portal = usePortalSession();
  const open = async () => {
    try {
      const { url } = await portal.mutateAsync("/billing");
      window.location.assign(url);
    } catch {
      // The hook keeps the error; the panel shows it.
    }
  };
  // Still "opening" after success: the tab is on its way to the portal.
  return <ManageBillingPanel canManage={canManage} onOpen={() => void open()} opening={portal.isPending || portal.isSuccess} error={portal.error} />;
}
