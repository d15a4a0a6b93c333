import type { Meta, StoryObj } from "@storybook/react-vite";
import { BillingApiError } from "@/client/fetchers/http";
import * as f from "./fixtures";
import { payableInvoice } from "./InvoicePayment";
import { InvoicesPanel } from "./InvoicesPanel";
import { failed, loading, ready } from "./loadable";
import { TestAuthenticationChallenge } from "./TestAuthenticationChallenge";

const noop = () => {};
const open = payableInvoice(f.openInvoice);

const meta = {
  title: "Billing/Invoices",
  component: InvoicesPanel,
  args: {
    invoices: ready(f.invoices),
    canManage: true,
    hasMore: false,
    onLoadMore: noop,
    loadingMore: false,
    onPay: noop,
    paying: null,
  },
} satisfies Meta<typeof InvoicesPanel>;

export default meta;
type Story = StoryObj<typeof meta>;

export const Loading: Story = { args: { invoices: loading } };
export const Error: Story = { args: { invoices: failed(f.serverError, noop) } };
export const Empty: Story = { args: { invoices: ready([]) } };
/** Paid, open and void invoices: only the open one can be paid. */
export const Admin: Story = {};
export const Viewer: Story = { args: { canManage: false } };
export const WithDraft: Story = { args: { invoices: ready([f.draftInvoice, ...f.invoices]) } };
export const Paying: Story = { args: { paying: f.openInvoice.id } };
export const Paid: Story = {
  args: { invoices: ready([{ ...f.openInvoice, status: "paid", amount_paid: 1355, amount_remaining: 0 }, f.voidInvoice, f.paidInvoice]), outcome: { kind: "paid", invoice: open } },
};
/** 402 payment_failed with the card's decline code. */
export const Declined: Story = { args: { outcome: { kind: "refused", invoice: open, error: f.paymentDeclined } } };
export const AuthenticationRequired: Story = {
  args: {
    outcome: { kind: "authenticate", invoice: open, challenge: <TestAuthenticationChallenge onAnswer={noop} busy={false} /> },
  },
};
export const ApplyingPaidChange: Story = { args: { outcome: { kind: "applying", invoice: open } } };
export const AuthenticationFailed: Story = {
  args: {
    outcome: {
      kind: "authentication_failed",
      invoice: open,
      error: f.authenticationFailed,
    },
  },
};
/** 409 invoice_not_payable: paid or voided since the table was loaded. */
export const NoLongerPayable: Story = { args: { outcome: { kind: "refused", invoice: open, error: f.invoiceNotPayable } } };
export const HasMore: Story = { args: { hasMore: true } };
export const LoadingMore: Story = { args: { hasMore: true, loadingMore: true } };
export const LoadMoreFailed: Story = {
  args: { hasMore: true, loadMoreError: new BillingApiError(503, "stripe_unavailable", "Stripe is unavailable", "req_demo_more") },
};
