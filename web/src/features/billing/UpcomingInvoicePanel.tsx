import type { InvoicePreview } from "@/api/types";
import { formatDate, formatMoney } from "@/lib/format";
import { InvoiceLines } from "./InvoiceLines";
import type { Loadable } from "./loadable";
import { EmptyState, Load, Panel } from "./ui";

export interface UpcomingInvoicePanelProps {
  /** `null` data: nothing upcoming; `emptyReason` says why. */
  invoice: Loadable<InvoicePreview | null>;
  emptyReason?: string;
}

export function UpcomingInvoicePanel({ invoice, emptyReason }: UpcomingInvoicePanelProps) {
  return (
    <Panel id="upcoming-invoice" title="Upcoming invoice">
      <Load value={invoice} what="Upcoming invoice">
        {(upcoming) =>
          upcoming ? (
            <>
              <p className="lead">
                {upcoming.next_payment_attempt ? (
                  <>
                    Next payment of <strong>{formatMoney(upcoming.amount_due, upcoming.currency)}</strong> on{" "}
                    <strong data-testid="next-payment-date">{formatDate(upcoming.next_payment_attempt)}</strong>.
                  </>
                ) : (
                  <>
                    Next invoice: <strong>{formatMoney(upcoming.amount_due, upcoming.currency)}</strong>.
                  </>
                )}
              </p>
              <InvoiceLines invoice={upcoming} caption="Lines of the upcoming invoice" />
            </>
          ) : (
            <EmptyState>
              <p>{emptyReason ?? "No upcoming invoice."}</p>
            </EmptyState>
          )
        }
      </Load>
    </Panel>
  );
}
