// Indicators, plan and registers a village worker can act on (issue 14,
// items 6–8), on the demo village at a phone's viewport: each rate says what
// it is counted over, the drill-down lists the missing first (one row a
// person, with household, group and phone, a tap away from the visit form)
// and exports them; 0/0 is "—"; next year's plan asks first and bears its
// year; registers by period and villager group, a page at a time, back to
// the list, and in English in the English UI. axe on each of these screens.
import AxeBuilder from "@axe-core/playwright";
import { promises as fs } from "node:fs";
import { test, expect, type AppServer } from "./fixtures";
import type { Download, Page } from "@playwright/test";

async function loadDemo(page: Page, server: AppServer) {
  await page.goto(server.url);
  await page.getByTestId("try-demo").tap();
  await expect(page.getByTestId("tasks-due")).toBeVisible({ timeout: 120_000 });
}

async function expectNoViolations(page: Page, screen: string) {
  const results = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"])
    .analyze();
  const summary = results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")}`);
  expect(summary, `axe violations on ${screen}`).toEqual([]);
}

/** A downloaded CSV's lines, after checking its byte-order mark. */
async function csvLines(download: Download): Promise<string[]> {
  const bytes = await fs.readFile((await download.path())!);
  expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
  return bytes.subarray(3).toString("utf8").trim().split("\r\n");
}

const NUMERALS = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二"];

test("the three-check rate says it is the half-year's, lists the missing first and records a visit from the list", async ({ page, server }) => {
  await loadDemo(page, server);
  await page.getByTestId("nav-indicators").tap();

  // Under 季度 the three-check rate says it is counted per half-year, and
  // its figures are the half-year's.
  await page.getByTestId("period-quarter").tap();
  const threeChecks = page.getByTestId("rate").first();
  await expect(threeChecks.getByTestId("rate-basis")).toHaveText(/^按半年计算（\d{4}年[上下]半年）$/);
  const figures = (await threeChecks.getByTestId("rate-figures").textContent())!;
  await page.getByTestId("period-half-year").tap();
  await expect(threeChecks.getByTestId("rate-basis")).toHaveText(/^统计期：\d{4}年[上下]半年$/);
  await expect(threeChecks.getByTestId("rate-figures")).toHaveText(figures);
  await expect(page.getByTestId("basis-note")).toContainText("三查按半年计算");
  // A rate of the chosen period says so; coverage is a state on a day.
  await page.getByTestId("period-month").tap();
  await expect(page.getByTestId("rate").nth(2).getByTestId("rate-basis")).toHaveText(/^统计期：\d{4}年\d{1,2}月$/);
  await expect(page.getByTestId("rate").nth(1).getByTestId("rate-basis")).toHaveText(/^截至\d{4}年\d{1,2}月\d{1,2}日$/);

  await page.getByTestId("period-quarter").tap();
  await threeChecks.locator(".rate-head").tap();
  await expect(threeChecks.locator(".rate-head")).toHaveAttribute("aria-expanded", "true");
  const [counted, all] = figures.split(" ")[0].split("/").map(Number);
  const missing = all - counted;
  expect(missing).toBeGreaterThan(0);
  const detail = threeChecks.getByTestId("rate-detail");
  await expect(detail.getByTestId("missing-title")).toHaveText(`未完成（${missing}）`);
  await expect(detail.getByTestId("counted").locator("summary")).toHaveText(`已计入（${counted}）`);

  // The missing come first, one row a person, each with household number
  // and group, a link to the three-check visit form; phones are call links.
  const rows = detail.getByTestId("missing-list").getByTestId("person-row");
  await expect(rows).toHaveCount(missing);
  const hrefs = await detail.getByTestId("missing-list").getByTestId("person-link").evaluateAll((links) => links.map((a) => a.getAttribute("href")!));
  expect(new Set(hrefs).size, "no person twice").toBe(hrefs.length);
  for (const href of hrefs) expect(href).toMatch(/^\/visit\/new\?person=[0-9a-f-]+&kind=three_checks$/);
  const households = await rows.getByTestId("person-household").allTextContents();
  for (const text of households) expect(text).toMatch(/^户 \d{4}$/);
  const groups = await rows.getByTestId("person-group").allTextContents();
  expect(groups).toHaveLength(missing);
  // In group order: 一组 before 二组 … as the route goes.
  const order = groups.map((g) => NUMERALS.indexOf(g.replace(/组$/, "")));
  expect(order).toEqual([...order].sort((a, b) => a - b));
  await expect(detail.getByTestId("person-phone").first()).toHaveAttribute("href", /^tel:\+?\d[\d]+$/);
  const box = await rows.first().getByTestId("person-link").boundingBox();
  expect(box!.height).toBeGreaterThanOrEqual(44);

  await expectNoViolations(page, "indicators with the drill-down open");

  // The missing list exports as CSV: the people, not the page.
  const [download] = await Promise.all([page.waitForEvent("download"), detail.getByTestId("export-missing").tap()]);
  const lines = await csvLines(download);
  expect(lines[0]).toBe("户编号,村民组,姓名,联系电话,服务类型");
  expect(lines).toHaveLength(missing + 1);
  expect(lines[1].split(",")[4]).toBe("三查");
  expect(download.suggestedFilename()).toMatch(/^三查参检率-未完成-\d{4}-\d{2}-\d{2}\.csv$/);

  // A tap on a row opens the visit form for her, for the three checks.
  const name = (await rows.first().locator(".person-name").textContent())!;
  await rows.first().getByTestId("person-link").tap();
  await expect(page.getByTestId("visit-form")).toBeVisible();
  await expect(page.getByTestId("visit-person")).toContainText(name);
  await expect(page.getByTestId("visit-kind")).toHaveValue("three_checks");
});

test("a rate with nothing to count shows — and neither met nor missed", async ({ page, server }) => {
  await page.goto(server.url);
  await expect(page.getByTestId("first-run")).toBeVisible();
  await page.getByTestId("village-name").fill("杨庄村");
  await page.getByText("篇二", { exact: false }).first().tap();
  await page.getByTestId("start").tap();
  await expect(page.getByTestId("nothing-due")).toBeVisible();
  await page.getByTestId("nav-indicators").tap();
  const first = page.getByTestId("rate").first();
  await expect(first.getByTestId("rate-figures")).toHaveText("—");
  const targets = await page.getByTestId("rate-target").allTextContents();
  for (const target of targets) expect(target).not.toMatch(/[✓✗]/);
  expect(targets.some((t) => t.startsWith("≥")), "the plan's goals are still shown").toBe(true);
  await first.locator(".rate-head").tap();
  await expect(first.getByTestId("rate-detail")).toHaveText("本期没有可统计的对象。");
});

test("next year's plan asks first and bears its year; past unticked tasks look missed", async ({ page, server }) => {
  await loadDemo(page, server);
  await page.getByTestId("nav-plan").tap();
  const year = new Date().getFullYear();
  await expect(page.getByTestId(`plan-year-${year}`)).toHaveAttribute("aria-pressed", "true");

  // Tasks of closed windows not ticked say so; open ones do not.
  const missed = page.locator('[data-testid="plan-task"][data-missed="true"]');
  expect(await missed.count()).toBeGreaterThan(0);
  await expect(missed.first().getByTestId("task-missed")).toHaveText("未完成（已过期）");
  await expect(missed.first()).toHaveClass(/missed/);
  const open = page.locator('[data-testid="plan-task"][data-missed="false"]');
  expect(await open.count()).toBeGreaterThan(0);
  await expect(open.getByTestId("task-missed")).toHaveCount(0);

  // One tap only asks; cancel leaves no new plan.
  await page.getByTestId("start-next-year").tap();
  const dialog = page.getByRole("alertdialog");
  await expect(dialog).toContainText(`开始 ${year + 1} 年度计划？`);
  await expect(page.getByTestId("start-next-year-confirm")).toBeFocused();
  await page.getByTestId("plan-section").first().locator("summary").tap();
  await expectNoViolations(page, "plan with the confirmation open");
  await page.getByTestId("start-next-year-cancel").tap();
  await expect(dialog).toHaveCount(0);
  await expect(page.getByTestId(`plan-year-${year + 1}`)).toHaveCount(0);

  await page.getByTestId("start-next-year").tap();
  await page.getByTestId("start-next-year-confirm").tap();
  await expect(page.getByTestId(`plan-year-${year + 1}`)).toHaveAttribute("aria-pressed", "true");
  await expect(page.getByTestId("plan-title")).toContainText(`${year + 1}年`);
  await expect(page.getByTestId("plan-title")).not.toContainText(`${year}年`);
});

test("registers by period and villager group, a page at a time, back to the list, and in English", async ({ page, server }) => {
  await loadDemo(page, server);
  await page.getByTestId("nav-indicators").tap();
  await page.getByTestId("reports-link").tap();
  await expectNoViolations(page, "register list");

  // The year's follow-up log: thousands of rows, drawn 50 at a time.
  await page.getByTestId("report-follow-ups").tap();
  await expect(page.getByTestId("report-title")).toHaveText(/^随访记录册（\d{4}年）$/);
  const total = parseInt((await page.getByTestId("report-rows").textContent())!, 10);
  expect(total).toBeGreaterThan(1000);
  const body = page.getByTestId("report-body");
  await expect(body.locator("tr")).toHaveCount(50);
  const pages = Math.ceil(total / 50);
  await expect(page.getByTestId("page-of")).toHaveText(`第 1 / ${pages} 页`);
  await expect(page.getByTestId("page-previous")).toBeDisabled();
  const firstDate = await body.locator("tr").first().locator("td").first().textContent();
  await page.getByTestId("page-next").tap();
  await expect(page.getByTestId("page-of")).toHaveText(`第 2 / ${pages} 页`);
  await expect(body.locator("tr").first().locator("td").first()).not.toHaveText(firstDate!);
  await expectNoViolations(page, "follow-up log");

  // CSV keeps the whole register, not the page.
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export-csv").tap()]);
  expect(await csvLines(download)).toHaveLength(total + 1);

  // The previous quarter, and back to the first page.
  await page.getByTestId("report-period-quarter").tap();
  await page.getByTestId("report-period-previous").tap();
  await expect(page.getByTestId("report-title")).toHaveText(/^随访记录册（\d{4}年第[一二三四]季度）$/);
  await expect(page.getByTestId("page-of")).toContainText("第 1 /");
  const quarterRows = parseInt((await page.getByTestId("report-rows").textContent())!, 10);
  expect(quarterRows).toBeLessThan(total);

  // Back to the list, then the roster of one group.
  await page.getByTestId("back-to-reports").tap();
  await expect(page.getByTestId("page-reports")).toBeVisible();
  await page.getByTestId("report-roster").tap();
  const options = await page.getByTestId("report-group").locator("option").allTextContents();
  expect(options[0]).toBe("全部村民组");
  const order = options.slice(1).map((g) => NUMERALS.indexOf(g.replace(/组$/, "")));
  expect(order.every((n) => n >= 0)).toBe(true);
  expect(order).toEqual([...order].sort((a, b) => a - b));
  const everyone = parseInt((await page.getByTestId("report-rows").textContent())!, 10);
  await page.getByTestId("report-group").selectOption("三组");
  await expect.poll(async () => parseInt((await page.getByTestId("report-rows").textContent())!, 10)).toBeLessThan(everyone);
  const groupCells = await page.getByTestId("report-body").locator("tr td:nth-child(2)").allTextContents();
  expect(groupCells.length).toBeGreaterThan(0);
  for (const cell of groupCells) expect(cell).toBe("三组");
  await expectNoViolations(page, "roster of one group");

  // In English: the register's title, headers and words.
  await page.getByTestId("nav-settings").tap();
  await page.getByTestId("lang-en").tap();
  await page.getByTestId("nav-indicators").tap();
  await page.getByTestId("reports-link").tap();
  await page.getByTestId("report-roster").tap();
  await expect(page.getByTestId("report-title")).toHaveText("Roster of women of reproductive age");
  const headers = await page.locator(".register thead th").allTextContents();
  expect(headers.slice(0, 3)).toEqual(["Household no.", "Group", "Name"]);
  for (const header of headers) expect(header).not.toMatch(/[\u4e00-\u9fff]/);
  const marital = await page.getByTestId("report-body").locator("tr td:nth-child(6)").allTextContents();
  for (const cell of marital) expect(cell).not.toMatch(/[\u4e00-\u9fff]/);
  await expect(page.getByTestId("back-to-reports")).toContainText("Back to the registers");
});
