import { ActionError, LoadingState, Panel, ReadOnlyNote } from "./ui";

export interface ManageBillingPanelProps {
  canManage: boolean;
  onOpen: () => void;
  opening: boolean;
  error?: unknown;
}

/** Opens a Stripe Customer Portal session (invoices, billing details) in this tab. */
export function ManageBillingPanel({ canManage, onOpen, opening, error }: ManageBillingPanelProps) {
  return (
    <Panel id="manage-billing" title="Invoices and billing details">
      <p className="muted">Past invoices, receipts and billing details are managed in the Stripe Customer Portal.</p>
      {canManage ? (
        <button type="button" className="primary" onClick={onOpen} disabled={opening} aria-busy={opening}>
          {opening ? "Opening portal…" : "Manage billing"}
        </button>
      ) : (
        <ReadOnlyNote>Only owners and admins can open the billing portal.</ReadOnlyNote>
      )}
      {opening ? <LoadingState label="Opening the billing portal…" /> : null}
      <ActionError error={error} />
    </Panel>
  );
}
