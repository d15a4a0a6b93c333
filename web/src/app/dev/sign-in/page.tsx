import { notFound } from "next/navigation";
import { serverConfig } from "@/server/config";
import { currentSession } from "@/server/session";

export const dynamic = "force-dynamic";
export const metadata = { title: "Sign in (local development)" };

export default async function DevSignInPage() {
  if (!serverConfig.devSignIn) notFound();
  const session = await currentSession();
  return (
    <main className="page narrow">
      <h1>Sign in for local development</h1>
      <p className="muted">
        Mints a token with the local stack&apos;s dev JWT settings (HS256, issuer <code>{serverConfig.devJwt.issuer}</code>) and
        keeps it in an httpOnly cookie. Local only.
      </p>
      {session ? (
        <p role="status">
          Signed in as <strong>{session.role}</strong> of <strong>{session.orgId}</strong>.
        </p>
      ) : null}
      <form method="post" action="/api/dev/session" className="stack">
        <label htmlFor="org">Organisation id</label>
        <input id="org" name="org" defaultValue={session?.orgId ?? "org_demo"} required pattern="[A-Za-z0-9_\-]{1,64}" />
        <label htmlFor="role">Role</label>
        <select id="role" name="role" defaultValue={session?.role ?? "owner"}>
          <option value="owner">owner — may change billing</option>
          <option value="admin">admin — may change billing</option>
          <option value="viewer">viewer — read-only</option>
        </select>
        <label htmlFor="user">User id</label>
        <input id="user" name="user" defaultValue={session?.userId ?? "user_local_dev"} />
        <div className="row">
          <button type="submit" className="primary">
            Sign in
          </button>
        </div>
      </form>
      {session ? (
        <form method="post" action="/api/dev/session">
          <input type="hidden" name="action" value="sign-out" />
          <button type="submit">Sign out</button>
        </form>
      ) : null}
      <p>
        <a href="/billing">Go to billing</a>
      </p>
    </main>
  );
}
