import { expect, test, type Page } from "@playwright/test";
import { addTestCard, expectAccessible, newOrgId, screenshot, signIn } from "./support";

/**
 * Plan changes "now" whose payment does not simply go through: the change is a Stripe pending
 * update, so a declined card keeps the old plan, and a card that asks for 3-D Secure is
 * authenticated in the page before the change applies.
 */

const STARTER = "Starter — $10.00 per month";
const PRO = "Pro — $30.00 per month";

/** A fresh org's owner on Starter (paid with a good card), then `token` added and made the default. */
async function starterPaidThenDefaultCard(page: Page, token: string, card: { label: string; name: string }) {
  const subscription = page.getByTestId("subscription");
  await signIn(page, newOrgId(), "owner");

  await test.step("add a good card and start Starter", async () => {
    await addTestCard(page, "pm_card_visa", "Visa •••• 4242");
    await subscription.getByLabel(STARTER).check();
    await subscription.getByRole("button", { name: "Start subscription" }).click();
    await expect(subscription.getByTestId("current-plan")).toHaveText(STARTER);
  });

  await test.step(`make ${card.label} the default`, async () => {
    await addTestCard(page, token, card.label, card.name);
  });
}

/** Pro monthly now, charging the difference (the preview's `always_invoice`), confirmed. */
async function changeToProNow(page: Page) {
  const planChange = page.getByTestId("plan-change");
  await planChange.getByLabel(PRO).check();
  await planChange.getByLabel(/^Now/).check();
  await expect(planChange.getByTestId("amount-due-today")).toBeVisible();
  await planChange.getByRole("button", { name: /^Change plan and pay/ }).click();
}

test("a declined upgrade keeps the old plan", async ({ page }) => {
  test.setTimeout(240_000);
  const subscription = page.getByTestId("subscription");
  const planChange = page.getByTestId("plan-change");
  await starterPaidThenDefaultCard(page, "pm_card_chargeCustomerFail", { label: "Visa •••• 0341", name: "Visa ending in 0341" });

  await test.step("the upgrade is declined: said so, with the reason and what to do", async () => {
    await changeToProNow(page);
    const refused = planChange.getByTestId("payment-refused");
    await expect(refused).toContainText("Your card was declined, so the plan did not change.");
    await expect(refused).toContainText("The bank declined the payment without giving a reason."); // generic_decline
    await expect(refused).toHaveAttribute("data-error-code", "payment_failed");
    await expect(refused).toBeFocused();
    await expect(refused.getByTestId("plan-kept")).toHaveText(STARTER);
    await expect(refused).toContainText(/waits for payment of invoice in_\w+/);
    await expect(refused).toContainText("otherwise the change lapses then");
  });

  await test.step("the old plan stays; the change waits for payment", async () => {
    await expect(subscription.getByTestId("current-plan")).toHaveText(STARTER);
    await expect(subscription.getByTestId("pending-payment")).toContainText(`Change to ${PRO} waits for payment of invoice in_`);
    await screenshot(page, "payments-declined-upgrade");
    await expectAccessible(page);
  });

  await test.step("another change while one waits for payment is refused (409 payment_pending)", async () => {
    await planChange.getByLabel("Pro — $300.00 per year").check();
    await planChange.getByLabel(/^Now/).check();
    await expect(planChange.getByTestId("amount-due-today")).toBeVisible();
    await planChange.getByRole("button", { name: /^Change plan and pay/ }).click();
    const alert = planChange.getByRole("alert");
    await expect(alert).toContainText("already waiting for payment of its invoice");
    await expect(alert).toContainText("payment_pending");
    await expect(subscription.getByTestId("current-plan")).toHaveText(STARTER);
  });
});

test("an upgrade that needs authentication completes", async ({ page }) => {
  test.setTimeout(240_000);
  const subscription = page.getByTestId("subscription");
  const planChange = page.getByTestId("plan-change");
  // The card asks for 3-D Secure at setup too; the test-card picker passes that challenge itself.
  await starterPaidThenDefaultCard(page, "pm_card_authenticationRequired", { label: "Visa •••• 3184", name: "Visa ending in 3184" });

  const step = planChange.getByRole("group", { name: "Authenticate the payment" });
  await test.step("the bank asks for authentication: its own step, the old plan still in force", async () => {
    await changeToProNow(page);
    await expect(step).toBeVisible();
    await expect(step.getByRole("heading", { name: "Authenticate the payment" })).toBeFocused();
    await expect(step).toContainText(`for the change to ${PRO}`);
    await expect(subscription.getByTestId("current-plan")).toHaveText(STARTER);
    await expect(subscription.getByTestId("pending-payment")).toContainText(`Change to ${PRO} waits for payment`);
    await screenshot(page, "payments-authentication-required");
    await expectAccessible(page);
  });

  await test.step("authenticated: Stripe applies the change, the page shows Pro", async () => {
    await step.getByRole("button", { name: "Complete authentication" }).click();
    await expect(planChange.getByText(/^Plan changed to Pro/)).toBeVisible({ timeout: 30_000 });
    await expect(subscription.getByTestId("current-plan")).toHaveText(PRO);
    await expect(subscription.getByTestId("pending-payment")).toHaveCount(0);
    await expect(step).toHaveCount(0);
    await screenshot(page, "payments-authenticated-upgrade");
  });
});
