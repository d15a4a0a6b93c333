import { expect, test } from "@playwright/test";
import { addTestCard, expectAccessible, newOrgId, screenshot, signIn, startSubscription } from "./support";

/**
 * The invoice table's "Pay now": a declined upgrade leaves its invoice open and the change waiting
 * for payment; paying that invoice with a new default card applies the change (Stripe's pending
 * update, brought in by the webhooks).
 */

const STARTER = "Starter — $10.00 per month";
const PRO = "Pro — $30.00 per month";

test("a declined upgrade → pay the open invoice with a new default card → the plan changes", async ({ page }) => {
  test.setTimeout(240_000);
  const subscription = page.getByTestId("subscription");
  const planChange = page.getByTestId("plan-change");
  const invoices = page.getByTestId("invoices");
  await signIn(page, newOrgId(), "owner");

  await test.step("Starter monthly, paid with Visa 4242; its invoice is listed as paid", async () => {
    await addTestCard(page, "pm_card_visa", "Visa •••• 4242");
    await startSubscription(page, STARTER);
    await expect(subscription.getByTestId("current-plan")).toHaveText(STARTER);
    await expect(invoices.getByTestId("invoice")).toHaveCount(1);
    await expect(invoices.getByTestId("invoice")).toHaveAttribute("data-status", "paid");
  });

  await test.step("the declining card becomes the default; the upgrade to Pro now is declined", async () => {
    await addTestCard(page, "pm_card_chargeCustomerFail", "Visa •••• 0341", "Visa ending in 0341");
    await planChange.getByLabel(PRO).check();
    await planChange.getByLabel(/^Now/).check();
    await expect(planChange.getByTestId("amount-due-today")).toBeVisible();
    await planChange.getByRole("button", { name: /^Change plan and pay/ }).click();
    await expect(planChange.getByTestId("payment-refused")).toContainText("Your card was declined, so the plan did not change.");
    await expect(subscription.getByTestId("current-plan")).toHaveText(STARTER);
    await expect(subscription.getByTestId("pending-payment")).toContainText(`Change to ${PRO} waits for payment of invoice in_`);
  });

  // The declined upgrade's invoice: open, the only one with "Pay now" (a refused payment refreshes the table).
  const openInvoice = invoices.getByTestId("invoice").filter({ has: page.getByRole("button", { name: /^Pay now for invoice/ }) });
  await test.step("its invoice is open in the table, with Pay now", async () => {
    await expect(openInvoice).toHaveCount(1);
    await expect(openInvoice).toHaveAttribute("data-status", "open");
    await expect(subscription.getByTestId("pending-payment").getByRole("link", { name: "Invoices" })).toHaveAttribute("href", "#invoices-title");
    await expectAccessible(page);
  });

  await test.step("a working card becomes the default; Pay now pays the invoice", async () => {
    await addTestCard(page, "pm_card_mastercard", "Mastercard •••• 4444", "Mastercard ending in 4444");
    const invoiceId = await openInvoice.getAttribute("data-invoice-id");
    expect(invoiceId).toMatch(/^in_/);
    await openInvoice.getByRole("button", { name: /^Pay now for invoice/ }).click();
    await expect(invoices.getByTestId("invoice-paid")).toContainText(/^Invoice \S+ paid\./, { timeout: 30_000 });
    await expect(invoices.locator(`[data-invoice-id="${invoiceId}"]`)).toHaveAttribute("data-status", "paid");
    await expect(invoices.getByRole("button", { name: /^Pay now/ })).toHaveCount(0);
  });

  await test.step("the webhooks bring the change: Pro monthly, nothing waits for payment", async () => {
    await expect(subscription.getByTestId("current-plan")).toHaveText(PRO, { timeout: 30_000 });
    await expect(subscription.getByTestId("pending-payment")).toHaveCount(0);
    await screenshot(page, "invoices-paid-declined-upgrade");
    await expectAccessible(page);
  });
});
