import type { Meta, StoryObj } from "@storybook/react-vite";
import { BillingApiError } from "@/client/fetchers/http";
import * as f from "./fixtures";
import { failed, loading, ready } from "./loadable";
import { PlanChangePanel } from "./PlanChangePanel";
import { TestAuthenticationChallenge } from "./TestAuthenticationChallenge";

const noop = () => {};

const meta = {
  title: "Billing/Plan change",
  component: PlanChangePanel,
  args: {
    subscription: ready(f.activeSubscription),
    plans: ready(f.plans),
    canManage: true,
    choice: { plan: null, timing: "immediate" },
    onChoose: noop,
    preview: null,
    onConfirm: noop,
    onWithdrawScheduled: noop,
    pending: null,
  },
} satisfies Meta<typeof PlanChangePanel>;

export default meta;
type Story = StoryObj<typeof meta>;

export const Loading: Story = { args: { subscription: loading } };
export const Error: Story = { args: { subscription: failed(f.serverError, noop) } };
export const Empty: Story = { args: { subscription: ready(null) } };
export const Admin: Story = {};
export const Viewer: Story = { args: { canManage: false } };
export const Trialing: Story = { args: { subscription: ready(f.trialingSubscription) } };
export const PastDue: Story = { args: { subscription: ready(f.pastDueSubscription) } };
export const CancelsAtPeriodEnd: Story = { args: { subscription: ready(f.cancelingSubscription) } };
export const Incomplete: Story = { args: { subscription: ready(f.incompleteSubscription) } };
export const PreviewLoading: Story = { args: { choice: { plan: "pro_monthly", timing: "immediate" }, preview: loading } };
export const PreviewError: Story = {
  args: { choice: { plan: "pro_monthly", timing: "immediate" }, preview: failed(f.serverError, noop) },
};
export const WithProrationPreview: Story = {
  args: { choice: { plan: "pro_monthly", timing: "immediate" }, preview: ready(f.prorationPreview) },
};
export const AtPeriodEnd: Story = { args: { choice: { plan: "pro_monthly", timing: "period_end" } } };
export const WithPendingPeriodEndChange: Story = {
  args: { subscription: ready(f.subscriptionWithPendingChange), result: "Scheduled: switches to Starter on Feb 1, 2026." },
};
export const ViewerWithPendingPeriodEndChange: Story = {
  args: { subscription: ready(f.subscriptionWithPendingChange), canManage: false },
};
export const StaleProrationDate: Story = {
  args: {
    choice: { plan: "pro_monthly", timing: "immediate" },
    preview: ready(f.prorationPreview),
    actionError: { code: "invalid_proration_date", message: "stale" },
  },
};
export const ChangedNow: Story = { args: { result: "Plan changed to Pro — $30.00 per month. $13.55 was invoiced today." } };
/** 402 payment_failed: the subscription (refreshed) keeps Starter, the upgrade waits for its invoice. */
export const DeclinedUpgrade: Story = {
  args: { subscription: ready(f.subscriptionWithPendingPayment), actionError: f.paymentDeclined },
};
/** A decline before the refreshed subscription arrived (no pending payment known yet). */
export const DeclinedWithoutPendingPayment: Story = {
  args: { actionError: new BillingApiError(402, "payment_failed", "Your card was declined.", "req_demo402b") },
};
export const AuthenticationRequired: Story = {
  args: {
    subscription: ready(f.subscriptionWithPendingPayment),
    payment: {
      step: "authenticate",
      plan: "pro_monthly",
      amountDue: 1355,
      currency: "usd",
      challenge: <TestAuthenticationChallenge onAnswer={noop} busy={false} />,
    },
  },
};
export const Authenticating: Story = {
  args: {
    ...AuthenticationRequired.args,
    payment: {
      step: "authenticate",
      plan: "pro_monthly",
      amountDue: 1355,
      currency: "usd",
      challenge: <TestAuthenticationChallenge onAnswer={noop} busy />,
    },
  },
};
export const ApplyingAuthenticatedChange: Story = {
  args: { subscription: ready(f.subscriptionWithPendingPayment), payment: { step: "applying", plan: "pro_monthly" } },
};
export const AuthenticationFailed: Story = {
  args: {
    subscription: ready(f.subscriptionWithPendingPayment),
    payment: {
      step: "failed",
      plan: "pro_monthly",
      error: f.authenticationFailed,
    },
  },
};
export const PaymentPending: Story = {
  args: {
    subscription: ready(f.subscriptionWithPendingPayment),
    choice: { plan: "pro_yearly", timing: "immediate" },
    preview: ready(f.prorationPreview),
    actionError: f.paymentPending,
  },
};
export const ChangeStillApplying: Story = { args: { actionError: { code: "change_still_applying", message: "still applying" } } };
