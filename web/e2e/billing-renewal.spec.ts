import { expect, test } from "@playwright/test";
import { formatDate } from "../src/lib/format";
import { addTestCard, advanceOrgClock, expectAccessible, newOrgId, screenshot, signIn, startSubscription, stripeGet } from "./support";

/**
 * A renewal that fails: the org's Stripe test clock is moved past the period end while the default
 * card declines every charge. The subscription is past due (Stripe retries, the API's grace keeps
 * access); a new default card is offered the unpaid invoice, and paying it makes the subscription
 * active again.
 */

const STARTER = "Starter — $10.00 per month";
const DAY = 86_400;

interface StripeInvoice {
  id: string;
  status: string;
  amount_due: number;
  billing_reason: string;
  next_payment_attempt: number | null;
}

test("a failed renewal shows past due → pay with a new card → active", async ({ page }) => {
  test.setTimeout(240_000);
  const subscription = page.getByTestId("subscription");
  const cards = page.getByTestId("payment-methods");
  const invoices = page.getByTestId("invoices");
  const banner = subscription.getByTestId("payment-problem");
  const orgId = newOrgId();
  await signIn(page, orgId, "owner");

  await test.step("Starter monthly, paid with Visa 4242; then the declining Visa 0341 becomes the default", async () => {
    await addTestCard(page, "pm_card_visa", "Visa •••• 4242");
    await startSubscription(page, STARTER);
    await expect(subscription.getByTestId("current-plan")).toHaveText(STARTER);
    await addTestCard(page, "pm_card_chargeCustomerFail", "Visa •••• 0341", "Visa ending in 0341");
    // Nothing is unpaid yet, so the new default is offered nothing.
    await expect(cards.getByTestId("open-invoice-offer")).toHaveCount(0);
  });

  let renewal: StripeInvoice | undefined;
  await test.step("the org's test clock passes the period end: the renewal is charged to Visa 0341 and declined", async () => {
    const answer = await page.request.get("/api/billing/subscription");
    expect(answer.status()).toBe(200);
    const { id, current_period_end: periodEnd } = (await answer.json()) as { id: string; current_period_end: number };
    await advanceOrgClock(page.request, orgId, periodEnd + 60);
    const { data } = await stripeGet<{ data: StripeInvoice[] }>(page.request, "/v1/invoices", { subscription: id, limit: "1" });
    renewal = data[0];
    expect(renewal).toMatchObject({ billing_reason: "subscription_cycle", status: "open", amount_due: 1000 });
    expect(renewal!.next_payment_attempt).toBeGreaterThan(periodEnd);

    await page.reload();
    await expect(subscription.getByText("Past due", { exact: true })).toBeVisible();
    await expect(banner).toContainText("The renewal payment of $10.00 failed.");
    await expect(banner.getByTestId("next-attempt")).toHaveText(`Stripe will retry on ${formatDate(renewal!.next_payment_attempt!)}.`);
    // The API's grace: the past-due days after the failed renewal started the new period.
    await expect(banner.getByTestId("access-decision")).toHaveText(`You keep access until ${formatDate(periodEnd + 7 * DAY)}.`);
    await expect(banner.getByRole("link", { name: `View invoice ${renewal!.id} (opens in a new tab)` })).toBeVisible();
    await expect(banner.getByRole("button", { name: `Pay now for invoice ${renewal!.id}, $10.00` })).toBeEnabled();
    await expect(invoices.locator(`[data-invoice-id="${renewal!.id}"]`)).toHaveAttribute("data-status", "open");
    await expectAccessible(page);
    await screenshot(page, "renewal-past-due");
  });

  await test.step("Mastercard 4444 becomes the default: the unpaid invoice is offered, Pay now pays it", async () => {
    await addTestCard(page, "pm_card_mastercard", "Mastercard •••• 4444", "Mastercard ending in 4444");
    const offer = cards.getByRole("status").filter({ hasText: "unpaid invoice" });
    await expect(offer).toHaveText(/^Your subscription has an unpaid invoice of \$10\.00\. Pay it now with Mastercard •••• 4444\?/);
    await offer.getByRole("button", { name: `Pay now for invoice ${renewal!.id}, $10.00` }).click();
    await expect(cards.getByTestId("invoice-paid")).toHaveText(`Invoice ${renewal!.id} paid.`, { timeout: 30_000 });
    await expect(offer).toHaveCount(0);
  });

  await test.step("the subscription is active again: no banner, the renewal paid in the table", async () => {
    await expect(banner).toHaveCount(0);
    await expect(subscription.getByText("Active", { exact: true })).toBeVisible();
    await expect(invoices.locator(`[data-invoice-id="${renewal!.id}"]`)).toHaveAttribute("data-status", "paid");
    await expect(invoices.getByRole("button", { name: /^Pay now/ })).toHaveCount(0);
    await expectAccessible(page);
    await screenshot(page, "renewal-paid");
  });
});
