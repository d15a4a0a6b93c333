import type { Meta, StoryObj } from "@storybook/react-vite";
import { TEST_CARDS } from "@/client/fetchers/stripe-test-cards";
import * as f from "./fixtures";
import { payableOpenInvoice } from "./InvoicePayment";
import { failed, loading, ready } from "./loadable";
import { PaymentMethodsPanel } from "./PaymentMethodsPanel";
import { TestCardPicker } from "./TestCardPicker";

const noop = () => {};
const picker = <TestCardPicker cards={TEST_CARDS} onAdd={noop} busy={false} />;
/** Mastercard just made the default while the renewal is unpaid. */
const [visa, mastercard] = [{ ...f.paymentMethods[0]!, is_default: false }, { ...f.paymentMethods[1]!, is_default: true }];
const newDefault = ready([mastercard, visa]);
const offer = { invoice: f.failedRenewal, card: mastercard };
const renewal = payableOpenInvoice(f.failedRenewal);

const meta = {
  title: "Billing/Payment methods",
  component: PaymentMethodsPanel,
  args: {
    paymentMethods: ready(f.paymentMethods),
    canManage: true,
    onSetDefault: noop,
    onRemove: noop,
    pending: null,
    addCard: picker,
    onPay: noop,
    payingInvoice: null,
  },
} satisfies Meta<typeof PaymentMethodsPanel>;

export default meta;
type Story = StoryObj<typeof meta>;

export const Loading: Story = { args: { paymentMethods: loading } };
export const Error: Story = { args: { paymentMethods: failed(f.serverError, noop) } };
export const Empty: Story = { args: { paymentMethods: ready([]) } };
export const Admin: Story = {};
export const Viewer: Story = { args: { canManage: false } };
export const Removing: Story = { args: { pending: { action: "remove", id: "pm_1Master" } } };
export const OnlyCardCannotBeRemoved: Story = {
  args: { paymentMethods: ready([f.paymentMethods[0]!]), actionError: f.onlyCardError },
};
export const AddingCard: Story = { args: { addCard: <TestCardPicker cards={TEST_CARDS} onAdd={noop} busy /> } };
export const CardDeclined: Story = {
  args: {
    addCard: (
      <TestCardPicker cards={TEST_CARDS} onAdd={noop} busy={false} error={{ code: "generic_decline", message: "Your card was declined." }} />
    ),
  },
};
/** The new default's answer named the subscription's unpaid invoice: offered, never paid unasked. */
export const OpenInvoiceOffer: Story = { args: { paymentMethods: newDefault, openInvoiceOffer: offer } };
export const OpenInvoiceOfferPaying: Story = { args: { paymentMethods: newDefault, openInvoiceOffer: offer, payingInvoice: renewal.id } };
export const OpenInvoiceOfferDeclined: Story = {
  args: { paymentMethods: newDefault, openInvoiceOffer: offer, paymentOutcome: { kind: "refused", invoice: renewal, error: f.paymentDeclined } },
};
/** Paid: the subscription no longer has the invoice, so the offer is gone and the payment said. */
export const OpenInvoiceOfferPaid: Story = { args: { paymentMethods: newDefault, paymentOutcome: { kind: "paid", invoice: renewal } } };
