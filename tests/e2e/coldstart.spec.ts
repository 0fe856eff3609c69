// The cold start in phases (issue 15): every record but the visits is read
// first, and every screen works from then on; the visits (tens of
// thousands) are read in the background, and what needs them says so until
// they are in. To act during the background read deterministically, this
// test sets the app's test-only delay: a number of milliseconds under the
// localStorage key "fieldbook.test.history-delay-ms", read by src/state.rs
// at start and waited after each chunk of visits (unset on a real phone).
import { test, expect } from "./fixtures";

const DELAY_KEY = "fieldbook.test.history-delay-ms";

test("a cold start leaves every screen usable while the visits are still being read", async ({ page, server }) => {
  const marks = (name: string) => page.evaluate((n) => performance.getEntriesByName(n).length, name);
  await page.goto(server.url);
  await page.getByTestId("try-demo").tap();
  await expect(page.getByTestId("tasks-due")).toBeVisible({ timeout: 120_000 });
  const due = await page.getByTestId("tasks-due").getByTestId("group-count").textContent();
  await page.getByTestId("nav-households").tap();
  const row = page.getByTestId("household-row").first();
  const name = (await row.locator(".household-members").textContent())!.split("、")[0].trim();

  // Reopened with the background read slowed down.
  await page.evaluate((key) => localStorage.setItem(key, "1500"), DELAY_KEY);
  await page.goto(server.url);
  // The list kept from the last run shows on Today meanwhile.
  await expect(page.getByTestId("today-kept")).toBeVisible();

  // Search finds her and her household opens, before the visits are in.
  await page.getByTestId("nav-households").tap();
  await expect(page.getByTestId("household-count")).toContainText("1000");
  await page.getByTestId("household-search").fill(name);
  await expect(page.getByTestId("household-row").first()).toContainText(name);
  await page.getByTestId("household-row").first().tap();
  await expect(page.getByTestId("household-page")).toBeVisible();
  await expect(page.getByTestId("member").first()).toBeVisible();
  await expect(page.getByTestId("member-name").first()).not.toBeEmpty();
  // Her history says it is still being read.
  await expect(page.getByTestId("history-loading").first()).toBeVisible();
  // A form opens and can be left.
  await page.getByTestId("edit-person").first().tap();
  await expect(page.getByTestId("name")).not.toHaveValue("");
  await page.goBack();
  await expect(page.getByTestId("household-page")).toBeVisible();
  // The indicators say the history is being read instead of counting.
  await page.getByTestId("nav-indicators").tap();
  await expect(page.getByTestId("history-loading")).toBeVisible();
  expect(await marks("fieldbook:records-usable"), "usable before the visits are read").toBe(1);
  expect(await marks("fieldbook:records-read"), "all of this before the visits were read").toBe(0);

  // Once the visits are in: the indicators count, the household shows its
  // history, and Today is live with the same list as before.
  await expect.poll(() => marks("fieldbook:records-read"), { timeout: 60_000 }).toBe(1);
  await expect(page.getByTestId("history-loading")).toHaveCount(0);
  await expect(page.getByTestId("chart")).toBeVisible();
  await page.goBack();
  await expect(page.getByTestId("household-page")).toBeVisible();
  await expect(page.getByTestId("history-toggle").first()).toBeVisible();
  await page.getByTestId("nav-today").tap();
  await expect.poll(() => marks("fieldbook:today-live")).toBe(1);
  await expect(page.getByTestId("today-kept")).toHaveCount(0);
  await expect(page.getByTestId("tasks-due").getByTestId("group-count")).toHaveText(due!);
  await page.evaluate((key) => localStorage.removeItem(key), DELAY_KEY);
});
