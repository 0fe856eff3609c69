// End-to-end tests: the release build served by the real fieldbook-server,
// in Debian's Chromium at a phone's viewport. Run by `cargo xtask test`,
// which builds both and passes their paths in FIELDBOOK_* variables.
import { defineConfig } from "@playwright/test";
import { CHROMIUM, CHROMIUM_ARGS, PHONE } from "./browser";

export default defineConfig({
  testDir: ".",
  testMatch: "*.spec.ts",
  timeout: 90_000,
  expect: { timeout: 15_000 },
  // Each test starts its own server; two cores are better spent on one
  // browser at a time than on contention.
  workers: 1,
  retries: 0,
  reporter: [
    ["list"],
    ["json", { outputFile: process.env.PLAYWRIGHT_JSON_OUTPUT_NAME ?? "../../target/e2e/playwright.json" }],
  ],
  outputDir: "../../target/e2e/results",
  use: {
    ...PHONE,
    serviceWorkers: "allow",
    launchOptions: { executablePath: CHROMIUM, args: CHROMIUM_ARGS },
  },
});
