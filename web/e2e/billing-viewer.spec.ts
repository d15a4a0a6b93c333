import { expect, test, type APIRequestContext } from "@playwright/test";
import { devToken, enabledControls, expectAccessible, newOrgId, screenshot, setSessionToken, signIn, STRIPE_URL, WEB_URL } from "./support";

/** An org with a default card and an active subscription, set up through the BFF as an owner. */
async function subscribedOrg(request: APIRequestContext, org: string) {
  const headers = { Cookie: `billing_session=${devToken(org, "owner")}`, Origin: WEB_URL };
  const intent = await request.post("/api/billing/setup-intents", { headers, data: {} });
  expect(intent.status(), await intent.text()).toBe(201);
  const { id, client_secret } = (await intent.json()) as { id: string; client_secret: string };
  const confirmed = await request.post(`${STRIPE_URL}/v1/setup_intents/${id}/confirm`, {
    headers: { Authorization: "Bearer pk_test_local_dev" },
    form: { client_secret, payment_method: "pm_card_visa", return_url: `${WEB_URL}/billing` },
  });
  expect(confirmed.status(), await confirmed.text()).toBe(200);
  const { payment_method } = (await confirmed.json()) as { payment_method: string };
  const setDefault = await request.put("/api/billing/payment-methods/default", { headers, data: { payment_method_id: payment_method } });
  expect(setDefault.status(), await setDefault.text()).toBe(200);
  const started = await request.post("/api/billing/subscription", { headers, data: { plan: "pro_monthly" } });
  expect(started.status(), await started.text()).toBe(201);
}

test("viewer: the same page, read-only; the API's 403 is shown if forced", async ({ page, context, request }) => {
  test.setTimeout(240_000);
  const org = newOrgId();
  await subscribedOrg(request, org);
  await signIn(page, org, "viewer");

  await test.step("everything visible", async () => {
    await expect(page.getByTestId("viewer-notice")).toBeVisible();
    await expect(page.getByTestId("current-plan")).toHaveText("Pro — $30.00 per month");
    await expect(page.getByTestId("payment-method")).toContainText("Visa •••• 4242");
    await expect(page.getByTestId("upcoming-invoice").getByTestId("invoice-total")).toHaveText("$30.00");
  });

  await test.step("no mutating control", async () => {
    await expect(enabledControls(page)).toHaveCount(0);
    for (const name of ["Manage billing", "Add card", "Start subscription", "Cancel subscription…", "Remove", "Set as default"]) {
      await expect(page.getByRole("button", { name })).toHaveCount(0);
    }
    await screenshot(page, "viewer");
    await expectAccessible(page);
  });

  await test.step("a forced mutation gets the API's 403 envelope through the BFF", async () => {
    const answer = await page.evaluate(async () => {
      const response = await fetch("/api/billing/subscription/cancel", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ at_period_end: true }),
      });
      return { status: response.status, body: (await response.json()) as { error: { code: string; request_id: string } } };
    });
    expect(answer.status).toBe(403);
    expect(answer.body.error.code).toBe("forbidden");
    expect(answer.body.error.request_id).not.toBe("");
  });

  await test.step("a page rendered for an owner whose role became viewer shows the refusal", async () => {
    await setSessionToken(context, devToken(org, "owner"));
    await page.reload();
    await expect(page.getByTestId("role")).toHaveText("owner");
    await setSessionToken(context, devToken(org, "viewer"));
    await page.getByRole("button", { name: "Cancel subscription…" }).click();
    await page.getByRole("button", { name: /^Cancel on/ }).click();
    const alert = page.getByTestId("subscription").getByRole("alert");
    await expect(alert).toContainText("Your role can only view billing");
    await expect(alert).toContainText("forbidden");
    await expect(page.getByText("Renews on", { exact: true })).toBeVisible();
    await screenshot(page, "forced-403");
  });
});

test("signed out: the page asks to sign in and the BFF refuses", async ({ page, request }) => {
  await page.goto("/billing");
  await expect(page.getByText("Sign in to see your organisation's billing.")).toBeVisible();
  const answer = await request.get("/api/billing/subscription");
  expect(answer.status()).toBe(401);
  expect(((await answer.json()) as { error: { code: string } }).error.code).toBe("unauthenticated");
});
