// The browser benchmarks (`cargo xtask bench`): not tests. Each figure is
// measured several times and written as JSON for xtask to tabulate.
import { defineConfig } from "@playwright/test";
import { CHROMIUM, CHROMIUM_ARGS, PHONE } from "../../tests/e2e/browser";

export default defineConfig({
  testDir: ".",
  testMatch: "*.bench.ts",
  timeout: 600_000,
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  outputDir: "../../target/bench/results",
  use: {
    ...PHONE,
    serviceWorkers: "allow",
    launchOptions: { executablePath: CHROMIUM, args: CHROMIUM_ARGS },
  },
});
