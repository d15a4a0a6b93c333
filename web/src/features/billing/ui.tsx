import { useEffect, useId, useRef, type ReactNode } from "react";
import { describeError } from "@/lib/errors";
import type { Loadable } from "./loadable";

export function Panel({ id, title, actions, children }: { id: string; title: string; actions?: ReactNode; children: ReactNode }) {
  return (
    <section className="panel" aria-labelledby={`${id}-title`} data-testid={id}>
      <div className="panel-head">
        <h2 id={`${id}-title`}>{title}</h2>
        {actions}
      </div>
      {children}
    </section>
  );
}

export function LoadingState({ label }: { label: string }) {
  return (
    <p className="loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> {label}
    </p>
  );
}

export function EmptyState({ children }: { children: ReactNode }) {
  return <div className="empty">{children}</div>;
}

/** An error of a whole surface (its data could not be loaded), with a retry. */
export function ErrorState({ what, error, onRetry }: { what: string; error: unknown; onRetry?: () => void }) {
  const shown = describeError(error);
  return (
    <div className="error-state" role="alert">
      <p>
        <strong>{what} could not be loaded.</strong> {shown.message}
      </p>
      <ErrorDetails code={shown.code} requestId={shown.requestId} />
      {onRetry ? (
        <button type="button" onClick={onRetry}>
          Try again
        </button>
      ) : null}
    </div>
  );
}

/** An action's refusal (e.g. 409 default_payment_method_required), shown next to it. */
export function ActionError({ error, id }: { error: unknown; id?: string }) {
  if (!error) return null;
  const shown = describeError(error);
  return (
    <div className="action-error" role="alert" id={id} data-error-code={shown.code}>
      <p>{shown.message}</p>
      <ErrorDetails code={shown.code} requestId={shown.requestId} />
    </div>
  );
}

export function ErrorDetails({ code, requestId }: { code: string; requestId?: string }) {
  return (
    <p className="error-details">
      Code <code>{code}</code>
      {requestId ? (
        <>
          {" "}
          · request <code>{requestId}</code>
        </>
      ) : null}
    </p>
  );
}

/** A short message; success is announced (role=status), others only when `announce` says so. */
export function Notice({
  children,
  tone = "info",
  announce = tone === "success",
  testId,
}: {
  children: ReactNode;
  tone?: "info" | "success" | "warning";
  announce?: boolean;
  testId?: string;
}) {
  return (
    <p className={`notice notice-${tone}`} role={announce ? "status" : undefined} data-testid={testId}>
      {children}
    </p>
  );
}

/** Moves focus to the element once it appears (a new step or a refusal), so keyboard users land on it. */
export function useFocusOnMount<T extends HTMLElement>() {
  const ref = useRef<T>(null);
  useEffect(() => ref.current?.focus(), []);
  return ref;
}

export function ReadOnlyNote({ children }: { children: ReactNode }) {
  return <p className="read-only">{children}</p>;
}

/** Renders a Loadable: loading / error states, or `children(data)`. */
export function Load<T>({ value, what, children }: { value: Loadable<T>; what: string; children: (data: T) => ReactNode }) {
  if (value.status === "loading") return <LoadingState label={`Loading ${what.toLowerCase()}…`} />;
  if (value.status === "error") return <ErrorState what={what} error={value.error} onRetry={value.onRetry} />;
  return <>{children(value.data)}</>;
}

/** "invoice in_…" of a change waiting for payment (or "its invoice" when the API names none). */
export function PendingInvoice({ id }: { id?: string | null }) {
  return id ? (
    <>
      invoice <code>{id}</code>
    </>
  ) : (
    <>its invoice</>
  );
}

/**
 * The bank asks the customer to authenticate a payment (3-D Secure): its own step, named by its
 * heading (`title`), which takes focus; `children` say what is paid and hold the challenge.
 */
export function AuthenticationStep({ title = "Authenticate the payment", children }: { title?: string; children: ReactNode }) {
  const headingId = useId();
  const heading = useFocusOnMount<HTMLHeadingElement>();
  return (
    <div className="payment-step stack" role="group" aria-labelledby={headingId} data-testid="payment-authentication">
      <h3 id={headingId} ref={heading} tabIndex={-1}>
        {title}
      </h3>
      {children}
    </div>
  );
}
