import { defineConfig } from "@playwright/test";

/**
 * E2E against a running stack: scripts/test.sh starts scripts/dev_stack.py (API, fake Stripe, the
 * built web app on free 127.0.0.1 ports) and passes its URLs in E2E_WEB_URL / E2E_STRIPE_URL.
 * The browser is Debian's Chromium (no Playwright browser download).
 */
const webUrl = process.env.E2E_WEB_URL ?? "http://127.0.0.1:3001";

export default defineConfig({
  testDir: "./e2e",
  outputDir: "./test-results/playwright",
  timeout: 120_000,
  expect: { timeout: 20_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  use: {
    baseURL: webUrl,
    screenshot: "only-on-failure",
    trace: "retain-on-failure",
    actionTimeout: 20_000,
    navigationTimeout: 60_000,
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
});
