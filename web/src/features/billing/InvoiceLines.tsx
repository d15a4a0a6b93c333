import type { InvoicePreview } from "@/api/types";
import { formatDate, formatMoney } from "@/lib/format";

/** An invoice's lines (proration lines marked) and its totals, amounts in the invoice currency. */
export function InvoiceLines({ invoice, caption, dueLabel = "Amount due" }: { invoice: InvoicePreview; caption: string; dueLabel?: string }) {
  const money = (amount: number) => formatMoney(amount, invoice.currency);
  return (
    <table className="invoice">
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">Description</th>
          <th scope="col">Period</th>
          <th scope="col" className="num">
            Amount
          </th>
        </tr>
      </thead>
      <tbody>
        {invoice.lines.length === 0 ? (
          <tr>
            <td colSpan={3}>No lines.</td>
          </tr>
        ) : (
          invoice.lines.map((line, index) => (
            <tr key={index} data-testid="invoice-line" data-proration={line.proration}>
              <td>
                {line.description ?? "Subscription"}
                {line.proration ? <span className="badge proration">Proration</span> : null}
              </td>
              <td>
                {formatDate(line.period_start)} – {formatDate(line.period_end)}
              </td>
              <td className="num">{money(line.amount)}</td>
            </tr>
          ))
        )}
      </tbody>
      <tfoot>
        <tr>
          <th scope="row" colSpan={2}>
            Subtotal
          </th>
          <td className="num" data-testid="invoice-subtotal">
            {money(invoice.subtotal)}
          </td>
        </tr>
        <tr>
          <th scope="row" colSpan={2}>
            Tax
          </th>
          <td className="num" data-testid="invoice-tax">
            {money(invoice.tax)}
          </td>
        </tr>
        <tr>
          <th scope="row" colSpan={2}>
            Total
          </th>
          <td className="num" data-testid="invoice-total" data-amount={invoice.total}>
            {money(invoice.total)}
          </td>
        </tr>
        {invoice.amount_due !== invoice.total ? (
          <tr>
            <th scope="row" colSpan={2}>
              {dueLabel} (after account balance)
            </th>
            <td className="num" data-testid="invoice-amount-due" data-amount={invoice.amount_due}>
              {money(invoice.amount_due)}
            </td>
          </tr>
        ) : null}
      </tfoot>
    </table>
  );
}
