import type { Meta, StoryObj } from "@storybook/react-vite";
import * as f from "./fixtures";
import { failed, loading, ready } from "./loadable";
import { SubscriptionPanel } from "./SubscriptionPanel";

const noop = () => {};

const meta = {
  title: "Billing/Subscription",
  component: SubscriptionPanel,
  args: {
    subscription: ready(f.activeSubscription),
    plans: ready(f.plans),
    canManage: true,
    hasPaymentMethod: true,
    onStart: noop,
    onCancel: noop,
    onResume: noop,
    pending: null,
  },
} satisfies Meta<typeof SubscriptionPanel>;

export default meta;
type Story = StoryObj<typeof meta>;

export const Loading: Story = { args: { subscription: loading } };
export const Error: Story = { args: { subscription: failed(f.serverError, noop) } };
export const Empty: Story = { args: { subscription: ready(null) } };
export const EmptyWithoutCard: Story = { args: { subscription: ready(null), hasPaymentMethod: false } };
export const Admin: Story = {};
export const Viewer: Story = { args: { canManage: false } };
export const ViewerEmpty: Story = { args: { canManage: false, subscription: ready(null) } };
export const Trialing: Story = { args: { subscription: ready(f.trialingSubscription) } };
export const PastDue: Story = { args: { subscription: ready(f.pastDueSubscription) } };
export const Incomplete: Story = { args: { subscription: ready(f.incompleteSubscription) } };
export const Unpaid: Story = { args: { subscription: ready(f.unpaidSubscription) } };
export const ViewerPastDue: Story = { args: { subscription: ready(f.pastDueSubscription), canManage: false } };
export const PendingPayment: Story = { args: { subscription: ready(f.subscriptionWithPendingPayment) } };
export const CancelsAtPeriodEnd: Story = { args: { subscription: ready(f.cancelingSubscription) } };
export const Ended: Story = { args: { subscription: ready(f.canceledSubscription) } };
export const Resuming: Story = { args: { subscription: ready(f.cancelingSubscription), pending: "resume" } };
export const ActionForbidden: Story = { args: { actionError: f.forbidden } };
