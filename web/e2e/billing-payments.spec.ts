import { expect, test, type Page } from "@playwright/test";
import { addTestCard, expectAccessible, newOrgId, screenshot, signIn, startSubscription, stripeGet } from "./support";

/**
 * Payments that do not simply go through. Plan changes "now": the change is a Stripe pending
 * update, so a declined card keeps the old plan, and a card that asks for 3-D Secure is
 * authenticated in the page before the change applies. A start whose first payment asks for 3-D
 * Secure: authenticated in the page, the subscription turns active; failed, it waits for payment
 * (`incomplete`) and its open invoice is paid from the banner.
 */

const STARTER = "Starter — $10.00 per month";
const PRO = "Pro — $30.00 per month";

/** A fresh org's owner on Starter (paid with a good card), then `token` added and made the default. */
async function starterPaidThenDefaultCard(page: Page, token: string, card: { label: string; name: string }) {
  const subscription = page.getByTestId("subscription");
  await signIn(page, newOrgId(), "owner");

  await test.step("add a good card and start Starter", async () => {
    await addTestCard(page, "pm_card_visa", "Visa •••• 4242");
    await startSubscription(page, STARTER);
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

/** The card that asks for 3-D Secure (its setup challenge the test-card picker passes itself). */
const AUTHENTICATING_CARD = { token: "pm_card_authenticationRequired", label: "Visa •••• 3184" };

/** A fresh org's owner whose first (so default) card asks for 3-D Secure, starting Starter. */
async function startStarterNeedingAuthentication(page: Page) {
  await signIn(page, newOrgId(), "owner");
  await addTestCard(page, AUTHENTICATING_CARD.token, AUTHENTICATING_CARD.label);
  await startSubscription(page, STARTER);
}

/** What Stripe holds for the org's subscription (its id read through the BFF): status and latest invoice. */
async function expectStripeActiveAndPaid(page: Page) {
  const answer = await page.request.get("/api/billing/subscription");
  expect(answer.status()).toBe(200);
  const { id } = (await answer.json()) as { id: string };
  const stripe = await stripeGet<{ status: string; latest_invoice: string }>(page.request, `/v1/subscriptions/${id}`, {});
  expect(stripe.status).toBe("active");
  const invoice = await stripeGet<{ status: string; amount_paid: number }>(page.request, `/v1/invoices/${stripe.latest_invoice}`, {});
  expect(invoice).toMatchObject({ status: "paid", amount_paid: 1000 });
}

test("a 3-D Secure start completes", async ({ page }) => {
  test.setTimeout(240_000);
  const subscription = page.getByTestId("subscription");
  const step = subscription.getByRole("group", { name: "Authenticate the first payment" });

  await test.step("the bank asks to authenticate the first payment: its own step, the subscription not active yet", async () => {
    await startStarterNeedingAuthentication(page);
    await expect(step).toBeVisible();
    await expect(step.getByRole("heading", { name: "Authenticate the first payment" })).toBeFocused();
    await expect(step).toContainText(`the first payment of $10.00 for ${STARTER}`);
    await expect(subscription.getByText("Payment required", { exact: true })).toBeVisible();
    await expect(subscription.getByTestId("payment-problem")).toHaveCount(0);
    await screenshot(page, "payments-start-authentication-required");
    await expectAccessible(page);
  });

  await test.step("authenticated: the subscription is active, and Stripe agrees", async () => {
    await step.getByRole("button", { name: "Complete authentication" }).click();
    await expect(subscription.getByTestId("subscription-started")).toHaveText(`Subscription started: you are on ${STARTER}.`, { timeout: 30_000 });
    await expect(subscription.getByText("Active", { exact: true })).toBeVisible();
    await expect(subscription.getByTestId("current-plan")).toHaveText(STARTER);
    await expect(step).toHaveCount(0);
    await screenshot(page, "payments-start-authenticated");
    await expectStripeActiveAndPaid(page);
  });
});

test("a 3-D Secure start whose challenge fails is paid from the banner", async ({ page }) => {
  test.setTimeout(240_000);
  const subscription = page.getByTestId("subscription");
  const banner = subscription.getByTestId("payment-problem");

  await test.step("the challenge fails: the subscription waits for payment, with what to do", async () => {
    await startStarterNeedingAuthentication(page);
    await subscription.getByRole("button", { name: "Fail authentication" }).click();
    const refused = subscription.getByTestId("first-payment-refused");
    await expect(refused).toContainText("Authentication failed; the first payment was not completed.");
    await expect(refused).toContainText(`The ${STARTER} subscription waits for payment (incomplete)`);
    await expect(refused).toBeFocused();
    await expect(subscription.getByText("Payment required", { exact: true })).toBeVisible();
    await expect(banner).toContainText("The first payment of $10.00 is not complete");
    await screenshot(page, "payments-start-authentication-failed");
    await expectAccessible(page);
  });

  await test.step("Pay now: the bank asks again, authenticated, the invoice is paid and the subscription active", async () => {
    await banner.getByRole("button", { name: /^Pay now for invoice in_\w+, \$10\.00$/ }).click();
    const again = subscription.getByRole("group", { name: "Authenticate the payment" });
    await again.getByRole("button", { name: "Complete authentication" }).click();
    await expect(subscription.getByTestId("invoice-paid")).toContainText(/^Invoice in_\w+ paid\./, { timeout: 30_000 });
    await expect(banner).toHaveCount(0);
    await expect(subscription.getByText("Active", { exact: true })).toBeVisible();
    await expectStripeActiveAndPaid(page);
  });
});
