import { createHmac, randomBytes } from "node:crypto";
import AxeBuilder from "@axe-core/playwright";
import { expect, type APIRequestContext, type BrowserContext, type Page } from "@playwright/test";

export const WEB_URL = process.env.E2E_WEB_URL ?? "http://127.0.0.1:3001";
export const STRIPE_URL = process.env.E2E_STRIPE_URL ?? "http://127.0.0.1:12111";
const STRIPE_SECRET_KEY = "sk_test_local_dev";
const SCREENSHOTS = "test-results/screenshots";

export function newOrgId(): string {
  return `org_web_${Date.now().toString(36)}${randomBytes(4).toString("hex")}`;
}

/** Signs in through the dev sign-in page (the token is minted server-side into the cookie). */
export async function signIn(page: Page, orgId: string, role: "owner" | "admin" | "viewer") {
  await page.goto("/dev/sign-in");
  await page.getByLabel("Organisation id").fill(orgId);
  await page.getByLabel("Role").selectOption(role);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL("**/billing");
  await expect(page.getByTestId("role")).toHaveText(role);
}

/** A dev token minted like scripts/dev-token (for forcing a role change under a rendered page). */
export function devToken(orgId: string, role: string): string {
  const now = Math.floor(Date.now() / 1000);
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const head = part({ alg: "HS256", typ: "JWT" });
  const body = part({
    sub: "user_e2e",
    org_id: orgId,
    role,
    iss: "billing-local-dev",
    aud: "billing-api",
    iat: now,
    nbf: now,
    exp: now + 3600,
  });
  const signature = createHmac("sha256", "local-dev-only-hs256-secret-do-not-use-in-prod").update(`${head}.${body}`).digest("base64url");
  return `${head}.${body}.${signature}`;
}

export async function setSessionToken(context: BrowserContext, token: string) {
  await context.addCookies([{ name: "billing_session", value: token, url: WEB_URL, httpOnly: true, sameSite: "Lax" }]);
}

export async function screenshot(page: Page, name: string) {
  await page.screenshot({ path: `${SCREENSHOTS}/${name}.png`, fullPage: true });
}

/** No serious or critical axe violations on the page as it is now. */
export async function expectAccessible(page: Page) {
  const results = await new AxeBuilder({ page }).analyze();
  const bad = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(
    bad.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`),
  ).toEqual([]);
}

/** Reads the fake Stripe with the local secret key (what the Dashboard would show). */
export async function stripeGet<T>(request: APIRequestContext, path: string, params: Record<string, string>): Promise<T> {
  const response = await request.get(`${STRIPE_URL}${path}`, {
    params,
    headers: { Authorization: `Bearer ${STRIPE_SECRET_KEY}` },
  });
  expect(response.status(), await response.text()).toBe(200);
  return (await response.json()) as T;
}

async function stripePost<T>(request: APIRequestContext, path: string, form: Record<string, string>): Promise<T> {
  const response = await request.post(`${STRIPE_URL}${path}`, { form, headers: { Authorization: `Bearer ${STRIPE_SECRET_KEY}` } });
  expect(response.status(), await response.text()).toBe(200);
  return (await response.json()) as T;
}

interface TestClock {
  id: string;
  name: string | null;
  status: string;
  frozen_time: number;
}

/**
 * The org's Stripe test clock: scripts/test.sh runs the stack with `--stripe-test-clocks`, so each
 * org's customer lives on its own clock, named `billing <org_id>` (an account holds at most 100: a page).
 */
async function orgClock(request: APIRequestContext, orgId: string): Promise<TestClock> {
  const { data } = await stripeGet<{ data: TestClock[] }>(request, "/v1/test_helpers/test_clocks", { limit: "100" });
  const clocks = data.filter((clock) => clock.name === `billing ${orgId}`);
  expect(clocks.map((clock) => clock.name), `the test clock of ${orgId}`).toEqual([`billing ${orgId}`]);
  return clocks[0]!;
}

/** Moves the org's test clock forward to `frozenTime` and waits until Stripe has run what fell due (`ready`). */
export async function advanceOrgClock(request: APIRequestContext, orgId: string, frozenTime: number) {
  const clock = await orgClock(request, orgId);
  await stripePost(request, `/v1/test_helpers/test_clocks/${clock.id}/advance`, { frozen_time: String(frozenTime) });
  await expect
    .poll(async () => (await stripeGet<TestClock>(request, `/v1/test_helpers/test_clocks/${clock.id}`, {})).status, { timeout: 60_000 })
    .toBe("ready");
}

/**
 * Adds a test card through the picker (`label`: "Visa •••• 4242" as listed) and, given its `name`
 * ("Visa ending in 4242"), makes it the default; the first card becomes the default by itself.
 */
export async function addTestCard(page: Page, token: string, label: string, name?: string) {
  const cards = page.getByTestId("payment-methods");
  await cards.getByLabel("Test card", { exact: true }).selectOption(token);
  await cards.getByRole("button", { name: "Add card" }).click();
  const added = cards.getByTestId("payment-method").filter({ hasText: label });
  await expect(added).toBeVisible();
  if (name) await added.getByRole("button", { name: `Make ${name} the default` }).click();
  await expect(added.getByText("Default", { exact: true })).toBeVisible();
}

/** Chooses `plan` (as labelled: "Starter — $10.00 per month") and starts it, charged to the default card. */
export async function startSubscription(page: Page, plan: string) {
  const subscription = page.getByTestId("subscription");
  await subscription.getByLabel(plan).check();
  await subscription.getByRole("button", { name: "Start subscription" }).click();
}

/** Enabled controls that could change something, inside the page's main content. */
export function enabledControls(page: Page) {
  return page.locator("main").locator("button:not([disabled]), input:not([disabled]), select:not([disabled])");
}
