// Indicators, plan and registers a village worker can act on (issue 14,
// items 6–8), on the demo village at a phone's viewport: each rate says what
// it is counted over, the drill-down lists the missing first (one row a
// person, with household, group and phone, a tap away from the visit form)
// and exports them; 0/0 is "—"; next year's plan asks first and bears its
// year; registers by period and villager group, windowed (the rows on
// screen drawn, scrolling reaches the last), back to the list, and in English
// in the English UI. axe on each of these screens.
import AxeBuilder from "@axe-core/playwright";
import { promises as fs } from "node:fs";
import { test, expect, type AppServer } from "./fixtures";
import type { Download, Locator, Page } from "@playwright/test";

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

/** Waits two frames: a windowed list follows the scroll on the next one. */
async function frames(page: Page) {
  await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
}

/** Every row of a windowed drill-down list, in order: the page is scrolled
 *  down a screen at a time until each row (by its aria-posinset) has been
 *  drawn once, then back to the top. */
async function everyPersonRow(page: Page, rows: Locator, total: number) {
  const seen = new Map<number, { href: string; household: string; group: string | null }>();
  await page.evaluate(() => window.scrollTo(0, 0));
  for (let step = 0; step < 400 && seen.size < total; step++) {
    await frames(page);
    const drawn = await rows.evaluateAll((els) =>
      els.map((e) => ({
        pos: Number(e.getAttribute("aria-posinset")),
        setsize: Number(e.getAttribute("aria-setsize")),
        href: e.querySelector('[data-testid="person-link"]')!.getAttribute("href")!,
        household: e.querySelector('[data-testid="person-household"]')!.textContent!,
        group: e.querySelector('[data-testid="person-group"]')?.textContent ?? null,
      })),
    );
    for (const { pos, setsize, ...row } of drawn) {
      if (pos > 0) {
        expect(setsize).toBe(total);
        seen.set(pos, row);
      }
    }
    await page.evaluate(() => window.scrollBy(0, window.innerHeight));
  }
  await page.evaluate(() => window.scrollTo(0, 0));
  await frames(page);
  return [...seen.entries()].sort(([a], [b]) => a - b).map(([, row]) => row);
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
  // The list is windowed: its rows are read as the page scrolls through it.
  const rows = detail.getByTestId("missing-list").getByTestId("person-row");
  await expect(rows.first()).toBeVisible();
  const every = await everyPersonRow(page, rows, missing);
  expect(every).toHaveLength(missing);
  const hrefs = every.map((r) => r.href);
  expect(new Set(hrefs).size, "no person twice").toBe(hrefs.length);
  for (const href of hrefs) expect(href).toMatch(/^\/visit\/new\?person=[0-9a-f-]+&kind=three_checks$/);
  const households = every.map((r) => r.household);
  for (const text of households) expect(text).toMatch(/^户 \d{4}$/);
  const groups = every.flatMap((r) => (r.group === null ? [] : [r.group]));
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

test("registers by period and villager group, windowed, back to the list, and in English", async ({ page, server }) => {
  await loadDemo(page, server);
  await page.getByTestId("nav-indicators").tap();
  await page.getByTestId("reports-link").tap();
  await expectNoViolations(page, "register list");

  // The year's follow-up log: thousands of rows, only those on screen
  // drawn, yet the table is as high as all of them and scrolling reaches
  // the last.
  await page.getByTestId("report-follow-ups").tap();
  await expect(page.getByTestId("report-title")).toHaveText(/^随访记录册（\d{4}年）$/);
  const total = parseInt((await page.getByTestId("report-rows").textContent())!, 10);
  expect(total).toBeGreaterThan(1000);
  const body = page.getByTestId("report-body");
  const drawn = body.locator("tr:not(.vl-gap)");
  await expect(page.locator("table.register")).toHaveAttribute("aria-rowcount", String(total + 1));
  await expect(drawn.first()).toHaveAttribute("aria-rowindex", "2");
  await expect(drawn.first().locator("td")).not.toHaveCount(0);
  expect(await drawn.count()).toBeLessThan(200);
  const rowHeight = (await drawn.first().boundingBox())!.height;
  const tableHeight = (await body.boundingBox())!.height;
  expect(tableHeight).toBeGreaterThan(total * rowHeight * 0.9);
  const firstDate = await drawn.first().locator("td").first().textContent();
  await expectNoViolations(page, "follow-up log");
  await expect
    .poll(async () => {
      await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
      return drawn.last().getAttribute("aria-rowindex");
    })
    .toBe(String(total + 1));
  expect(await drawn.count()).toBeLessThan(200);
  await expect(body.locator('tr[aria-rowindex="2"]')).toHaveCount(0);
  await expect(drawn.last().locator("td").first()).not.toHaveText(firstDate!);
  await expect(drawn.last()).toBeInViewport();

  // CSV keeps the whole register, not the page.
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export-csv").tap()]);
  expect(await csvLines(download)).toHaveLength(total + 1);

  // The previous quarter, from its first row.
  await page.getByTestId("report-period-quarter").tap();
  await page.getByTestId("report-period-previous").tap();
  await expect(page.getByTestId("report-title")).toHaveText(/^随访记录册（\d{4}年第[一二三四]季度）$/);
  await expect(drawn.first()).toHaveAttribute("aria-rowindex", "2");
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
