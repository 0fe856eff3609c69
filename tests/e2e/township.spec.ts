// The township page on a 360×640 phone, as an officer with several villages:
// the page is never wider than the phone (the table scrolls in its own box),
// the bottom bar keeps its five tabs, a loading indicator while the summary
// comes, villages sorted by name (pinyin) or by a rate, the order remembered,
// a village's detail opening right under its row, periods in words; axe.
import AxeBuilder from "@axe-core/playwright";
import { test, expect, type AppServer } from "./fixtures";
import type { Page } from "@playwright/test";

const PASSWORD = "correct horse battery";

// The summary is held back with page.route, which sees the page's own
// requests only: no service worker in between.
test.use({ serviceWorkers: "block" });
/** Empty villages whose code-point order (张 李 王 陈) is not their pinyin order (陈 李 王 张). */
const EMPTY = ["张家村", "李家村", "王家村", "陈家村"];

/** The demo's small village (with records) and four empty ones in its township; officer zhou. */
function setUpTownship(server: AppServer): { demo: string } {
  server.admin(["load-demo", "--size", "small", "--seed", "1"]);
  const [line] = server.admin(["village", "list"]).split("\n");
  const [, demo, township] = line.split("\t");
  for (const name of EMPTY) server.admin(["village", "add", "--name", name, "--township", township]);
  server.admin(["user", "add", "zhou", "--role", "officer", "--township", township], PASSWORD);
  return { demo };
}

async function expectNoViolations(page: Page, screen: string) {
  const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  const summary = results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")}`);
  expect(summary, `axe violations on ${screen}`).toEqual([]);
}

async function signIn(page: Page, server: AppServer) {
  await page.goto(server.url);
  await expect(page.getByTestId("first-run")).toBeVisible();
  await page.getByTestId("username").fill("zhou");
  await page.getByTestId("password").fill(PASSWORD);
  await page.getByTestId("login").tap();
}

/** The villages' names as the table lists them. */
async function names(page: Page): Promise<string[]> {
  return page.getByTestId("township-village").locator("th[scope=row] button").allTextContents();
}

/** `list` in the browser's Chinese order. */
async function pinyinOrder(page: Page, list: string[]): Promise<string[]> {
  return page.evaluate((l) => [...l].sort(new Intl.Collator("zh-CN").compare), list);
}

test("the township page fits a phone, sorts, and opens a village under its row", async ({ page, server }) => {
  const { demo } = setUpTownship(server);
  await signIn(page, server);

  // The summary held back: a loading indicator says so.
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  await page.route("**/api/v1/township/summary**", async (route) => {
    await held;
    await route.continue();
  });
  await page.getByTestId("township-link").first().tap();
  const loading = page.getByTestId("township-loading");
  await expect(loading).toBeVisible();
  await expect(loading).toHaveAttribute("role", "status");
  await expect(loading).toHaveAttribute("aria-busy", "true");
  release();
  await expect(page.getByTestId("township-village")).toHaveCount(5, { timeout: 30_000 });
  await expect(loading).toHaveCount(0);
  await page.unroute("**/api/v1/township/summary**");

  // Not wider than the phone; the table scrolls in its own box; all five tabs in view.
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
  const box = page.locator(".township-scroll");
  expect(await box.evaluate((el) => el.scrollWidth > el.clientWidth)).toBe(true);
  for (const slug of ["today", "households", "plan", "indicators", "settings"]) {
    await expect(page.getByTestId(`nav-${slug}`)).toBeInViewport({ ratio: 1 });
  }

  // Periods in words, not the API's spelling.
  const periods = page.locator("[data-testid^=period-]");
  await expect(periods).toHaveCount(4);
  const words = await periods.allTextContents();
  expect(words[0]).toMatch(/^\d{4}年$/);
  expect(words[1]).toMatch(/^\d{4}年[上下]半年$/);
  expect(words[2]).toMatch(/^\d{4}年第[一二三四]季度$/);
  expect(words[3]).toMatch(/^\d{4}年\d{1,2}月$/);
  await expect(page.getByTestId("page-township")).not.toContainText(/\d{4}-(H|Q)\d/);
  await periods.nth(2).tap();
  await expect(periods.nth(2)).toHaveAttribute("aria-pressed", "true");
  await expect(page.getByTestId("township-village")).toHaveCount(5, { timeout: 30_000 });

  // By name, in pinyin order (陈 李 王 张), then reversed.
  const all = await names(page);
  const demoName = all.find((n) => !EMPTY.includes(n))!;
  expect(demoName).toBeTruthy();
  const expected = await pinyinOrder(page, all);
  expect(expected.indexOf("陈家村")).toBeLessThan(expected.indexOf("张家村"));
  expect(all).toEqual(expected);
  await page.getByTestId("sort-descending").tap();
  expect(await names(page)).toEqual([...expected].reverse());

  // By a rate: the village with something to count first, the empty ones
  // (nothing to count) after it, by name.
  await page.getByTestId("township-sort").selectOption({ index: 1 });
  const byRate = await names(page);
  expect(byRate[0]).toBe(demoName);
  expect(byRate.slice(1)).toEqual(await pinyinOrder(page, EMPTY));

  // Remembered: the same order after a reload.
  await page.reload();
  await expect(page.getByTestId("township-village")).toHaveCount(5, { timeout: 30_000 });
  expect(await names(page)).toEqual(byRate);
  await expect(page.getByTestId("sort-descending")).toHaveAttribute("aria-pressed", "true");
  expect(await page.getByTestId("township-sort").inputValue()).not.toBe("name");

  // Back to names, this quarter; a tap on the village opens its detail right under its row.
  await periods.nth(2).tap();
  await expect(page.getByTestId("township-village")).toHaveCount(5, { timeout: 30_000 });
  await page.getByTestId("township-sort").selectOption("name");
  await page.getByTestId("sort-ascending").tap();
  expect(await names(page)).toEqual(expected);
  const target = page.getByTestId("township-village").filter({ hasText: demoName });
  const button = target.getByRole("button", { name: demoName });
  await expect(button).toHaveAttribute("aria-expanded", "false");
  await button.tap();
  await expect(button).toHaveAttribute("aria-expanded", "true");
  const detail = page.getByTestId("village-detail");
  await expect(detail).toContainText(demoName, { timeout: 30_000 });
  await expect(detail).toContainText(words[2]);
  expect(
    await target.evaluate((row) => row.nextElementSibling?.querySelector("[data-testid=village-detail]") !== null),
    "the detail is the row right after the tapped village",
  ).toBe(true);
  const rowBox = (await target.boundingBox())!;
  const detailBox = (await detail.boundingBox())!;
  expect(Math.abs(detailBox.y - (rowBox.y + rowBox.height))).toBeLessThan(4);
  expect(detailBox.x).toBeGreaterThanOrEqual(0);
  expect(detailBox.x + detailBox.width).toBeLessThanOrEqual(360);
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
  await expectNoViolations(page, "township with a village open");

  // Another tap closes it.
  await button.tap();
  await expect(detail).toHaveCount(0);
  await expect(button).toHaveAttribute("aria-expanded", "false");
  void demo;
});
