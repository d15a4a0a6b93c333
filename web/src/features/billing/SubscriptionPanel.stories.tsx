import type { Meta, StoryObj } from "@storybook/react-vite";
import * as f from "./fixtures";
import { payableOpenInvoice } from "./InvoicePayment";
import { failed, loading, ready } from "./loadable";
import { SubscriptionPanel } from "./SubscriptionPanel";
import { TestAuthenticationChallenge } from "./TestAuthenticationChallenge";

const noop = () => {};
const renewal = payableOpenInvoice(f.failedRenewal);

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
    onPay: noop,
    payingInvoice: null,
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
/** The renewal failed: Stripe retries on a date, access continues through the grace days; Pay now. */
export const PastDue: Story = { args: { subscription: ready(f.pastDueSubscription) } };
/** Stripe's retries ended, the account setting leaves it past due; the grace is over. */
export const PastDueNoMoreRetries: Story = { args: { subscription: ready(f.pastDueNoRetriesSubscription) } };
/** A past-due answer without its open invoice: the banner points to the invoice table. */
export const PastDueInvoiceUnknown: Story = { args: { subscription: ready({ ...f.pastDueSubscription, open_invoice: null }) } };
/** The first payment is not made (declined, or the bank's challenge failed): its open invoice, with Pay now. */
export const IncompleteWithOpenInvoice: Story = { args: { subscription: ready(f.incompleteSubscription) } };
/** Started, and the bank asks to authenticate the first payment: its own step, in place of the banner. */
export const StartAwaitingAuthentication: Story = {
  args: {
    subscription: ready(f.incompleteSubscription),
    firstPayment: { step: "authenticate", challenge: <TestAuthenticationChallenge onAnswer={noop} busy={false} /> },
  },
};
export const StartAuthenticated: Story = { args: { subscription: ready(f.incompleteSubscription), firstPayment: { step: "activating" } } };
/** Authenticated: Stripe made the subscription active. */
export const Started: Story = { args: { firstPayment: { step: "started" } } };
/** The challenge was failed: the subscription waits for payment; try again with Pay now. */
export const StartAuthenticationFailed: Story = {
  args: { subscription: ready(f.incompleteSubscription), firstPayment: { step: "failed", error: f.authenticationFailed } },
};
/** 402 payment_failed on start: the subscription exists, incomplete, with its open invoice. */
export const StartDeclined: Story = { args: { subscription: ready(f.incompleteSubscription), actionError: f.paymentDeclined } };
/** Stripe's retries ended, the account setting makes it unpaid: access paused. */
export const Unpaid: Story = { args: { subscription: ready(f.unpaidSubscription) } };
export const ViewerPastDue: Story = { args: { subscription: ready(f.pastDueSubscription), canManage: false } };
export const ViewerUnpaid: Story = { args: { subscription: ready(f.unpaidSubscription), canManage: false } };
export const PayingOpenInvoice: Story = { args: { subscription: ready(f.pastDueSubscription), payingInvoice: renewal.id } };
export const OpenInvoiceAuthentication: Story = {
  args: {
    subscription: ready(f.pastDueSubscription),
    paymentOutcome: { kind: "authenticate", invoice: renewal, challenge: <TestAuthenticationChallenge onAnswer={noop} busy={false} /> },
  },
};
export const OpenInvoiceDeclined: Story = {
  args: { subscription: ready(f.pastDueSubscription), paymentOutcome: { kind: "refused", invoice: renewal, error: f.paymentDeclined } },
};
/** Paid from the banner: the subscription is active again, the banner gone, the payment said. */
export const OpenInvoicePaid: Story = { args: { paymentOutcome: { kind: "paid", invoice: renewal } } };
export const PendingPayment: Story = { args: { subscription: ready(f.subscriptionWithPendingPayment) } };
export const CancelsAtPeriodEnd: Story = { args: { subscription: ready(f.cancelingSubscription) } };
export const Ended: Story = { args: { subscription: ready(f.canceledSubscription) } };
/** Stripe's retries ended, the account setting cancels: a new subscription can be started. */
export const EndedAfterFailedRenewal: Story = { args: { subscription: ready(f.canceledAfterFailedRenewal) } };
export const Resuming: Story = { args: { subscription: ready(f.cancelingSubscription), pending: "resume" } };
export const ActionForbidden: Story = { args: { actionError: f.forbidden } };
