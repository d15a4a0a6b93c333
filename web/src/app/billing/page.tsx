import { BillingPage } from "@/features/billing/BillingPage";
import { serverConfig } from "@/server/config";
import { currentSession } from "@/server/session";

export const dynamic = "force-dynamic";
export const metadata = { title: "Billing" };

export default async function Billing() {
  const config = serverConfig.publicConfig();
  if (!config.enableBilling) {
    return (
      <main className="page narrow">
        <h1>Billing</h1>
        <p>Billing is not enabled in this environment.</p>
      </main>
    );
  }
  const session = await currentSession();
  if (!session) {
    return (
      <main className="page narrow">
        <h1>Billing</h1>
        <p>Sign in to see your organisation&apos;s billing.</p>
        {config.devSignIn ? (
          <p>
            <a href="/dev/sign-in">Sign in for local development</a>
          </p>
        ) : null}
      </main>
    );
  }
  return <BillingPage session={{ orgId: session.orgId, role: session.role, userId: session.userId }} config={config} />;
}
