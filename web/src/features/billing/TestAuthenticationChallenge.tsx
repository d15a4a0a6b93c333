import { ActionError } from "./ui";

export interface TestAuthenticationChallengeProps {
  /** `fail`: the person fails the challenge (as on Stripe's test authentication page). */
  onAnswer: (fail: boolean) => void;
  busy: boolean;
  /** A challenge that could not be answered (the test Stripe unreachable); a failed one is the caller's. */
  error?: unknown;
}

/**
 * Local development's stand-in for the bank's 3-D Secure page (no publishable key): the person
 * passes or fails the fake Stripe's challenge for the payment.
 */
export function TestAuthenticationChallenge({ onAnswer, busy, error }: TestAuthenticationChallengeProps) {
  return (
    <div className="stack">
      <p className="muted">Test mode: the local Stripe stands in for your bank&apos;s 3-D Secure page.</p>
      <div className="row">
        <button type="button" className="primary" onClick={() => onAnswer(false)} disabled={busy} aria-busy={busy}>
          {busy ? "Authenticating…" : "Complete authentication"}
        </button>
        <button type="button" onClick={() => onAnswer(true)} disabled={busy}>
          Fail authentication
        </button>
      </div>
      <ActionError error={error} />
    </div>
  );
}
