import type { Meta, StoryObj } from "@storybook/react-vite";
import * as f from "./fixtures";
import { failed, loading, ready } from "./loadable";
import { UpcomingInvoicePanel } from "./UpcomingInvoicePanel";

const meta = {
  title: "Billing/Upcoming invoice",
  component: UpcomingInvoicePanel,
  args: { invoice: ready(f.upcomingInvoice) },
} satisfies Meta<typeof UpcomingInvoicePanel>;

export default meta;
type Story = StoryObj<typeof meta>;

export const Loading: Story = { args: { invoice: loading } };
export const Error: Story = { args: { invoice: failed(f.serverError, () => {}) } };
export const Empty: Story = { args: { invoice: ready(null), emptyReason: "No subscription, so nothing is billed." } };
/** Upcoming invoices are the same for every role. */
export const Admin: Story = {};
export const Viewer: Story = {};
export const WithProrations: Story = {
  args: { invoice: ready({ ...f.prorationPreview, next_payment_attempt: f.NOW + 31 * 86_400 }) },
};
export const ZeroDecimalCurrency: Story = { args: { invoice: ready(f.yenInvoice) } };
