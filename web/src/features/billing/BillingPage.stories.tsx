import type { Meta, StoryObj } from "@storybook/react-vite";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import type { Subscription } from "@/api/types";
import { billingKeys } from "@/client/hooks/keys";
import { BillingPage } from "./BillingPage";
import * as f from "./fixtures";

const config = {
  enableBilling: true,
  stripePublishableKey: null,
  stripeFakeUrl: "http://127.0.0.1:12111",
  stripeFakePublishableKey: "pk_test_local_dev",
  devSignIn: true,
};

/** The whole page with the hooks' cache filled in (no requests are made). */
function seeded(subscription: Subscription | null) {
  const client = new QueryClient({ defaultOptions: { queries: { staleTime: Infinity, retry: false } } });
  client.setQueryData(billingKeys.subscription(), subscription);
  client.setQueryData(billingKeys.plans(), { plans: f.plans });
  client.setQueryData(billingKeys.paymentMethods(), { payment_methods: f.paymentMethods });
  client.setQueryData(billingKeys.upcomingInvoice(), f.upcomingInvoice);
  client.setQueryData(billingKeys.invoices(), { pages: [f.invoicePage], pageParams: [undefined] });
  return client;
}

const meta = {
  title: "Billing/Page",
  component: BillingPage,
  args: { session: { orgId: "org_demo", role: "owner", userId: "user_local_dev" }, config },
  render: (args, { parameters }) => (
    <QueryClientProvider client={seeded((parameters.subscription as Subscription | null | undefined) ?? null)}>
      <BillingPage {...args} />
    </QueryClientProvider>
  ),
} satisfies Meta<typeof BillingPage>;

export default meta;
type Story = StoryObj<typeof meta>;

export const Empty: Story = { parameters: { subscription: null } };
export const Admin: Story = {
  args: { session: { orgId: "org_demo", role: "admin", userId: "user_local_dev" } },
  parameters: { subscription: f.activeSubscription },
};
export const Viewer: Story = {
  args: { session: { orgId: "org_demo", role: "viewer", userId: "user_local_dev" } },
  parameters: { subscription: f.activeSubscription },
};
export const Trialing: Story = { parameters: { subscription: f.trialingSubscription } };
export const PastDue: Story = { parameters: { subscription: f.pastDueSubscription } };
export const CancelsAtPeriodEnd: Story = { parameters: { subscription: f.cancelingSubscription } };
export const Incomplete: Story = { parameters: { subscription: f.incompleteSubscription } };
export const WithPendingPeriodEndChange: Story = { parameters: { subscription: f.subscriptionWithPendingChange } };
export const Unpaid: Story = { parameters: { subscription: f.unpaidSubscription } };
export const PendingPayment: Story = { parameters: { subscription: f.subscriptionWithPendingPayment } };
