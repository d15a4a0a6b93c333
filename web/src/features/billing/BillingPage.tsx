"use client";

import { canManageBilling } from "@/api/types";
import type { PublicConfig } from "@/lib/public-config";
import { InvoicesSection } from "./InvoicesSection";
import { ManageBillingSection } from "./ManageBillingSection";
import { PaymentMethodsSection } from "./PaymentMethodsSection";
import { PlanChangeSection } from "./PlanChangeSection";
import { SubscriptionSection } from "./SubscriptionSection";
import { UpcomingInvoiceSection } from "./UpcomingInvoiceSection";

export interface BillingSession {
  orgId: string;
  role: string;
  userId: string;
}

/** The billing page: lays out the panels; each panel's section wires its own hooks. */
export function BillingPage({ session, config }: { session: BillingSession; config: PublicConfig }) {
  const canManage = canManageBilling(session.role);
  return (
    <main className="page">
      <header className="page-head">
        <h1>Billing</h1>
        <p className="muted">
          Organisation <strong>{session.orgId}</strong> · signed in as <strong data-testid="role">{session.role}</strong>
          {config.devSignIn ? (
            <>
              {" "}
              · <a href="/dev/sign-in">switch org or role</a>
            </>
          ) : null}
        </p>
        {!canManage ? (
          <p className="notice notice-info" data-testid="viewer-notice">
            You have read-only access: billing can be viewed but only owners and admins can change it.
          </p>
        ) : null}
      </header>
      <div className="surfaces">
        <SubscriptionSection canManage={canManage} config={config} />
        <PlanChangeSection canManage={canManage} config={config} />
        <UpcomingInvoiceSection />
        <InvoicesSection canManage={canManage} config={config} />
        <PaymentMethodsSection canManage={canManage} config={config} />
        <ManageBillingSection canManage={canManage} />
      </div>
    </main>
  );
}
