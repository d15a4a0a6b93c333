import type { ReactNode } from "react";
import type { PaymentMethod } from "@/api/types";
import { brandName } from "@/lib/format";
import type { Loadable } from "./loadable";
import { ActionError, EmptyState, Load, Panel, ReadOnlyNote } from "./ui";

export interface PaymentMethodsPanelProps {
  paymentMethods: Loadable<PaymentMethod[]>;
  canManage: boolean;
  onSetDefault: (id: string) => void;
  onRemove: (id: string) => void;
  /** The card an action is running for. */
  pending: { action: "default" | "remove"; id: string } | null;
  actionError?: unknown;
  /** The add-card form (test-card picker or Stripe Elements), shown to owners and admins. */
  addCard?: ReactNode;
}

export function cardName(pm: PaymentMethod): string {
  return `${brandName(pm.brand)} ending in ${pm.last4}`;
}

export function PaymentMethodsPanel({
  paymentMethods,
  canManage,
  onSetDefault,
  onRemove,
  pending,
  actionError,
  addCard,
}: PaymentMethodsPanelProps) {
  return (
    <Panel id="payment-methods" title="Payment methods">
      <Load value={paymentMethods} what="Payment methods">
        {(list) =>
          list.length === 0 ? (
            <EmptyState>
              <p>No cards on file.{canManage ? " Add one to start or pay for a subscription." : ""}</p>
            </EmptyState>
          ) : (
            <ul className="cards" aria-label="Cards on file">
              {list.map((pm) => (
                <li key={pm.id} className="card-row" data-testid="payment-method" data-pm-id={pm.id}>
                  <span className="card-name">
                    {brandName(pm.brand)} •••• {pm.last4}
                  </span>
                  <span className="muted">
                    Expires {String(pm.exp_month).padStart(2, "0")}/{pm.exp_year}
                  </span>
                  {pm.is_default ? <span className="badge default">Default</span> : null}
                  {canManage ? (
                    <span className="row end">
                      {!pm.is_default ? (
                        <button
                          type="button"
                          onClick={() => onSetDefault(pm.id)}
                          disabled={pending !== null}
                          aria-label={`Make ${cardName(pm)} the default`}
                          aria-busy={pending?.action === "default" && pending.id === pm.id}
                        >
                          {pending?.action === "default" && pending.id === pm.id ? "Saving…" : "Set as default"}
                        </button>
                      ) : null}
                      <button
                        type="button"
                        className="danger"
                        onClick={() => onRemove(pm.id)}
                        disabled={pending !== null}
                        aria-label={`Remove ${cardName(pm)}`}
                        aria-busy={pending?.action === "remove" && pending.id === pm.id}
                      >
                        {pending?.action === "remove" && pending.id === pm.id ? "Removing…" : "Remove"}
                      </button>
                    </span>
                  ) : null}
                </li>
              ))}
            </ul>
          )
        }
      </Load>
      <ActionError error={actionError} />
      {canManage ? addCard : <ReadOnlyNote>Only owners and admins can add, remove or change cards.</ReadOnlyNote>}
    </Panel>
  );
}
