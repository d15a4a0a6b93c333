import { expect, test } from "@playwright/test";
import { expectAccessible, newOrgId, screenshot, signIn, startSubscription, stripeGet } from "./support";

interface StripeInvoice {
  id: string;
  total: number;
  amount_due: number;
  billing_reason: string;
}

test("owner: card, subscription, previews, plan changes, default, removal, portal", async ({ page }) => {
  test.setTimeout(300_000);
  const org = newOrgId();
  await signIn(page, org, "owner");

  const subscription = page.getByTestId("subscription");
  const planChange = page.getByTestId("plan-change");
  const upcoming = page.getByTestId("upcoming-invoice");
  const cards = page.getByTestId("payment-methods");

  await test.step("empty org: no subscription, no card", async () => {
    await expect(subscription.getByText("This organisation has no subscription yet.")).toBeVisible();
    await expect(cards.getByText("No cards on file.")).toBeVisible();
    await expect(subscription.getByRole("button", { name: "Start subscription" })).toBeDisabled();
    await expect(upcoming.getByText("No subscription, so nothing is billed.")).toBeVisible();
    await screenshot(page, "owner-empty");
  });

  await test.step("add a card (test-card picker confirms the SetupIntent against the fake)", async () => {
    await cards.getByLabel("Test card", { exact: true }).selectOption("pm_card_visa");
    await cards.getByRole("button", { name: "Add card" }).click();
    const visa = cards.getByTestId("payment-method").filter({ hasText: "Visa •••• 4242" });
    await expect(visa).toBeVisible();
    await expect(visa.getByText("Default", { exact: true })).toBeVisible(); // the first card becomes the default
    await expect(visa).toContainText(/Expires 12\/\d{4}/);
  });

  await test.step("start a subscription", async () => {
    await startSubscription(page, "Starter — $10.00 per month");
    await expect(subscription.getByTestId("current-plan")).toHaveText("Starter — $10.00 per month");
    await expect(subscription.getByText("Active", { exact: true })).toBeVisible();
    await expect(subscription.getByText("Renews on", { exact: true })).toBeVisible();
  });

  await test.step("read the upcoming invoice", async () => {
    await expect(upcoming.getByTestId("invoice-total")).toHaveText("$10.00");
    const renewal = await subscription.getByTestId("renewal-date").textContent();
    await expect(upcoming.getByTestId("next-payment-date")).toHaveText(renewal ?? "");
    await expect(upcoming.getByTestId("invoice-line").first()).toBeVisible();
    await screenshot(page, "owner-subscribed");
    await expectAccessible(page);
  });

  let previewTotal = 0;
  let previewDue = 0;
  await test.step("change plan now: the proration preview, then a charge equal to it", async () => {
    await planChange.getByLabel("Pro — $30.00 per month").check();
    await planChange.getByLabel(/^Now/).check();
    const preview = planChange.getByTestId("proration-preview");
    await expect(preview.locator('[data-testid="invoice-line"][data-proration="true"]').first()).toBeVisible();
    await expect(preview.getByText("Proration").first()).toBeVisible();
    const due = preview.getByTestId("amount-due-today");
    previewDue = Number(await due.getAttribute("data-amount"));
    previewTotal = Number(await preview.getByTestId("invoice-total").getAttribute("data-amount"));
    expect(previewDue).toBeGreaterThan(0);
    await screenshot(page, "owner-proration-preview");
    await expectAccessible(page);
    await planChange.getByRole("button", { name: /^Change plan and pay/ }).click();
    await expect(planChange.getByText(/^Plan changed to Pro/)).toBeVisible();
    await expect(subscription.getByTestId("current-plan")).toHaveText("Pro — $30.00 per month");
  });

  await test.step("the invoice Stripe created equals the preview", async () => {
    const current = await page.request.get("/api/billing/subscription");
    expect(current.status()).toBe(200);
    const { id } = (await current.json()) as { id: string };
    const invoices = await stripeGet<{ data: StripeInvoice[] }>(page.request, "/v1/invoices", { subscription: id, limit: "1" });
    const latest = invoices.data[0]!;
    expect(latest.billing_reason).toBe("subscription_update");
    expect(latest.total).toBe(previewTotal);
    expect(latest.amount_due).toBe(previewDue);
  });

  await test.step("schedule a change at period end, then cancel it", async () => {
    await planChange.getByLabel("Starter — $10.00 per month").check();
    await planChange.getByLabel(/^At the end of the current period/).check();
    await expect(planChange.getByTestId("period-end-summary")).toContainText("Takes effect on");
    await planChange.getByRole("button", { name: /^Schedule change for/ }).click();
    const scheduled = planChange.getByTestId("scheduled-change");
    await expect(scheduled).toContainText("switches to Starter");
    await expect(subscription.getByTestId("current-plan")).toHaveText("Pro — $30.00 per month");
    await screenshot(page, "owner-pending-change");
    await scheduled.getByRole("button", { name: "Cancel scheduled change" }).click();
    await expect(planChange.getByText("The scheduled change was cancelled.")).toBeVisible();
    await expect(scheduled).toHaveCount(0);
  });

  await test.step("add a second card and make it the default", async () => {
    await cards.getByLabel("Test card", { exact: true }).selectOption("pm_card_mastercard");
    await cards.getByRole("button", { name: "Add card" }).click();
    const master = cards.getByTestId("payment-method").filter({ hasText: "Mastercard •••• 4444" });
    await expect(master).toBeVisible();
    await expect(master.getByText("Default", { exact: true })).toHaveCount(0);
    await master.getByRole("button", { name: "Make Mastercard ending in 4444 the default" }).click();
    await expect(master.getByText("Default", { exact: true })).toBeVisible();
    await expect(cards.getByTestId("payment-method").first()).toContainText("Mastercard"); // default first
  });

  await test.step("remove a card; the only card of the subscription is refused with a clear message", async () => {
    await cards.getByRole("button", { name: "Remove Visa ending in 4242" }).click();
    await expect(cards.getByTestId("payment-method")).toHaveCount(1);
    await cards.getByRole("button", { name: "Remove Mastercard ending in 4444" }).click();
    const alert = cards.getByRole("alert");
    await expect(alert).toContainText("Add another card first");
    await expect(alert).toContainText("default_payment_method_required");
    await expect(cards.getByTestId("payment-method")).toHaveCount(1);
    await screenshot(page, "owner-only-card-refused");
  });

  await test.step("cancel at period end and resume", async () => {
    await subscription.getByRole("button", { name: "Cancel subscription…" }).click();
    await subscription.getByRole("button", { name: /^Cancel on/ }).click();
    await expect(subscription.getByText("Cancels on", { exact: true })).toBeVisible();
    await expect(upcoming.getByText(/no further invoices/)).toBeVisible();
    await subscription.getByRole("button", { name: "Resume subscription" }).click();
    await expect(subscription.getByText("Renews on", { exact: true })).toBeVisible();
  });

  await test.step("open the Customer Portal", async () => {
    await page.getByRole("button", { name: "Manage billing" }).click();
    await page.waitForURL(/\/_fake\/portal\//);
    await expect(page.locator("#customer")).toContainText("cus_");
    const back = await page.locator("a#return").getAttribute("href");
    expect(back).toMatch(/\/billing$/);
    await screenshot(page, "owner-portal");
  });
});
