import { useId, useState } from "react";
import type { TestCard } from "@/client/fetchers/stripe-test-cards";
import { ActionError, Notice } from "./ui";

export interface TestCardPickerProps {
  cards: TestCard[];
  onAdd: (token: string) => void;
  busy: boolean;
  error?: unknown;
  added?: string | null;
}

/**
 * Local development's card form: picks one of Stripe's test cards and confirms the SetupIntent
 * against the fake Stripe the way Stripe.js would. Shown when no publishable key is configured.
 */
export function TestCardPicker({ cards, onAdd, busy, error, added }: TestCardPickerProps) {
  const [token, setToken] = useState(cards[0]?.token ?? "");
  const selectId = useId();
  return (
    <form
      className="add-card stack"
      aria-label="Add a test card"
      onSubmit={(event) => {
        event.preventDefault();
        if (token) onAdd(token);
      }}
    >
      <h3>Add a card</h3>
      <p className="muted">Test mode: no real card. The card is saved through a SetupIntent confirmed against the local Stripe.</p>
      <label htmlFor={selectId}>Test card</label>
      <div className="row">
        <select id={selectId} value={token} onChange={(event) => setToken(event.target.value)} disabled={busy}>
          {cards.map((card) => (
            <option key={card.token} value={card.token}>
              {card.label}
            </option>
          ))}
        </select>
        <button type="submit" className="primary" disabled={busy || !token} aria-busy={busy}>
          {busy ? "Adding card…" : "Add card"}
        </button>
      </div>
      {added ? <Notice tone="success">Card added.</Notice> : null}
      <ActionError error={error} />
    </form>
  );
}
