import type { Meta, StoryObj } from "@storybook/react-vite";
import * as f from "./fixtures";
import { ManageBillingPanel } from "./ManageBillingPanel";

const meta = {
  title: "Billing/Manage billing (portal)",
  component: ManageBillingPanel,
  args: { canManage: true, onOpen: () => {}, opening: false },
} satisfies Meta<typeof ManageBillingPanel>;

export default meta;
type Story = StoryObj<typeof meta>;

/** The portal button has no data to load: its loading state is the session being created. */
export const Loading: Story = { args: { opening: true } };
export const Error: Story = { args: { error: f.serverError } };
export const Empty: Story = {};
export const Admin: Story = {};
export const Viewer: Story = { args: { canManage: false } };
