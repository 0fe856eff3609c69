// Accessibility: axe-core finds no WCAG 2.1 A/AA violation on any screen, in
// Chinese, with the demo village loaded.
import AxeBuilder from "@axe-core/playwright";
import { test, expect } from "./fixtures";
import type { Page } from "@playwright/test";

async function expectNoViolations(page: Page, screen: string) {
  const results = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"])
    .analyze();
  const summary = results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")}`);
  expect(summary, `axe violations on ${screen}`).toEqual([]);
}

test("every screen passes axe", async ({ page, server }) => {
  await page.goto(server.url);
  await expect(page.getByTestId("first-run")).toBeVisible();
  await expectNoViolations(page, "first run");

  await page.getByTestId("try-demo").tap();
  await expect(page.getByTestId("tasks-due")).toBeVisible({ timeout: 120_000 });
  await expectNoViolations(page, "today");

  await page.getByTestId("tasks-due").getByTestId("task").first().tap();
  await expect(page.getByTestId("visit-form")).toBeVisible();
  await expectNoViolations(page, "visit form");

  await page.getByTestId("nav-households").tap();
  await expect(page.getByTestId("household-row").first()).toBeVisible();
  await expectNoViolations(page, "households");

  await page.getByTestId("household-row").first().tap();
  await expect(page.getByTestId("household-page")).toBeVisible();
  await expectNoViolations(page, "household");

  await page.getByTestId("edit-person").first().tap();
  await expect(page.getByTestId("person-form")).toBeVisible();
  await expectNoViolations(page, "person form");

  await page.getByTestId("nav-households").tap();
  await page.getByTestId("add-household").tap();
  await expect(page.getByTestId("household-form")).toBeVisible();
  await expectNoViolations(page, "household form");

  await page.getByTestId("nav-plan").tap();
  await page.getByTestId("plan-section").first().locator("summary").tap();
  await expectNoViolations(page, "plan");

  await page.getByTestId("nav-indicators").tap();
  await expect(page.getByTestId("chart")).toBeVisible();
  await expectNoViolations(page, "indicators");

  await page.getByTestId("reports-link").tap();
  await expectNoViolations(page, "reports");
  await page.getByTestId("report-roster").tap();
  await expect(page.getByTestId("report")).toBeVisible();
  await expectNoViolations(page, "roster");

  await page.getByTestId("nav-settings").tap();
  await expectNoViolations(page, "settings");
});
