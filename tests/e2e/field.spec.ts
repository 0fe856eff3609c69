// The field app on the phone, with its records in IndexedDB: first run, the
// demo village, a visit recorded from Today, household search, and the same
// work with the server gone.
import { test, expect, waitForServiceWorker, type AppServer } from "./fixtures";
import type { Page } from "@playwright/test";
import { PHONE } from "./browser";

async function startVillage(page: Page, server: AppServer) {
  await page.goto(server.url);
  await expect(page.getByTestId("first-run")).toBeVisible();
  await page.getByTestId("village-name").fill("杨庄村");
  await page.getByText("篇二", { exact: false }).first().tap();
  await page.getByTestId("start").tap();
  await expect(page.getByTestId("nothing-due")).toBeVisible();
}

async function loadDemo(page: Page, server: AppServer) {
  await page.goto(server.url);
  await page.getByTestId("try-demo").tap();
  await expect(page.getByTestId("tasks-due")).toBeVisible({ timeout: 120_000 });
}

/** The number of due tasks, from the group's heading (the list is paged). */
/** A household numbered `number` with one married woman of 36 in it,
 * 张秀梅 (so follow-ups fall due for her). */
async function addWomanOfChildbearingAge(page: Page, number: string) {
  await page.getByTestId("nav-households").tap();
  await page.getByTestId("add-household").tap();
  await page.getByTestId("number").fill(number);
  await page.getByTestId("save-household").tap();
  await page.getByTestId("add-person").tap();
  await page.getByTestId("name").fill("张秀梅");
  await page.getByTestId("birth_date").fill("1990-03-08");
  await page.getByTestId("marital").selectOption("first_marriage");
  await page.getByTestId("save-person").tap();
  await expect(page.getByTestId("member")).toContainText("张秀梅");
}

async function dueCount(page: Page): Promise<number> {
  const text = await page.getByTestId("tasks-due").getByTestId("group-count").textContent();
  return Number(text);
}

test("first run: a village from a template, kept across a reload and waiting to sync", async ({ page, server }) => {
  await startVillage(page, server);
  await page.reload();
  await expect(page.getByTestId("nothing-due")).toBeVisible();
  await expect(page.getByTestId("first-run")).toHaveCount(0);
  await page.getByTestId("nav-settings").tap();
  await expect(page.getByTestId("unsynced")).not.toHaveText(/^0 /);
  await expect(page.getByTestId("storage-usage")).toContainText("MB");
});

test("first run refuses an empty village name and a bad year, saying which field", async ({ page, server }) => {
  await page.goto(server.url);
  await page.getByTestId("plan-year").fill("20x6");
  await page.getByTestId("start").tap();
  await expect(page.getByText("年度应在 2000 至 2100 之间")).toBeVisible();
  await expect(page.locator(".field-error").first()).toContainText("名");
  await expect(page.getByTestId("first-run")).toBeVisible();
});

test("the demo village: a task tapped on Today becomes a visit and closes", async ({ page, server }) => {
  await loadDemo(page, server);
  const before = await dueCount(page);
  expect(before).toBeGreaterThan(0);
  const first = page.getByTestId("tasks-due").getByTestId("task").first();
  const person = (await first.locator(".task-person").textContent())!.trim();
  await first.tap();
  await expect(page.getByTestId("visit-form")).toBeVisible();
  await expect(page.getByTestId("visit-person")).toHaveText(person);
  await page.getByTestId("satisfied-yes").tap();
  await page.getByTestId("save-visit").tap();
  await expect(page.getByTestId("page-today")).toBeVisible();
  // The visit closes the tapped task, and any other task of hers that the
  // same kind of visit closes today (a follow-up and a method's renewal).
  await expect.poll(() => dueCount(page)).toBeLessThan(before);
  const after = await dueCount(page);

  await page.reload();
  await expect(page.getByTestId("tasks-due")).toBeVisible();
  expect(await dueCount(page)).toBe(after);
});

test("households are found by name and by number", async ({ page, server }) => {
  await loadDemo(page, server);
  await page.getByTestId("nav-households").tap();
  await expect(page.getByTestId("household-count")).toContainText("1000");
  const row = page.getByTestId("household-row").first();
  const number = (await row.locator(".household-number").textContent())!.trim();
  const name = (await row.locator(".household-members").textContent())!.split("、")[0].trim();

  await page.getByTestId("household-search").fill(name);
  await expect(page.getByTestId("household-row").first()).toContainText(name);
  await page.getByTestId("household-search").fill(number);
  await expect(page.getByTestId("household-row").first().locator(".household-number")).toHaveText(number);

  await page.getByTestId("household-row").first().tap();
  await expect(page.getByTestId("household-page")).toBeVisible();
  await expect(page.getByTestId("member").first()).toBeVisible();
});

test("with the server gone, a visit is recorded and kept across an offline reload", async ({ page, server }) => {
  await loadDemo(page, server);
  await waitForServiceWorker(page);
  await server.stop();
  await page.reload();
  await expect(page.getByTestId("tasks-due")).toBeVisible();
  const before = await dueCount(page);
  await page.getByTestId("tasks-due").getByTestId("task").first().tap();
  await page.getByTestId("save-visit").tap();
  await expect.poll(() => dueCount(page)).toBeLessThan(before);
  const after = await dueCount(page);
  await page.reload();
  await expect(page.getByTestId("tasks-due")).toBeVisible();
  expect(await dueCount(page)).toBe(after);
});

test("ticking a plan task moves the progress, and unticking moves it back", async ({ page, server }) => {
  await startVillage(page, server);
  await page.getByTestId("nav-plan").tap();
  const overall = page.getByTestId("plan-progress");
  await expect(overall).toContainText(" 0/");
  const section = page.getByTestId("plan-section").first();
  await section.locator("summary").tap();
  await section.getByTestId("tick").first().tap();
  await section.getByTestId("tick-reached").fill("abc");
  await section.getByTestId("tick-save").tap();
  await expect(section.getByText("覆盖户数应为整数")).toBeVisible();
  await section.getByTestId("tick-reached").fill("120");
  await section.getByTestId("tick-save").tap();
  await expect(overall).toContainText(" 1/");
  await expect(section.getByTestId("section-progress")).toContainText("1/");

  await page.reload();
  await expect(page.getByTestId("plan-progress")).toContainText(" 1/");
  const again = page.getByTestId("plan-section").first();
  await again.locator("summary").tap();
  await again.getByTestId("tick").first().tap();
  await expect(page.getByTestId("plan-progress")).toContainText(" 0/");
});

test("an indicator changes after a visit, and tapping it shows who is counted", async ({ page, server }) => {
  await loadDemo(page, server);
  const due = page.getByTestId("tasks-due");
  // Find a three-check task due this half-year (routine checks come after
  // the maternal and method tasks on the working list: filter by kind; the
  // filter is remembered when Today is shown again below).
  await page.getByTestId("kind-filter").selectOption("three_checks");
  const threeCheck = due.getByTestId("task").filter({ hasText: "三查" }).first();
  await expect(threeCheck).toBeVisible();
  const name = (await threeCheck.locator(".task-person").textContent())!.trim();

  await page.getByTestId("nav-indicators").tap();
  await page.getByTestId("period-half-year").tap();
  const threeCheckRate = page.getByTestId("rate").first();
  const before = (await threeCheckRate.getByTestId("rate-figures").textContent())!;
  const counted = Number(before.split("/")[0]);

  await page.getByTestId("nav-today").tap();
  await page.getByTestId("tasks-due").getByTestId("task").filter({ hasText: "三查" }).first().tap();
  await expect(page.getByTestId("visit-person")).toHaveText(name);
  await page.getByTestId("save-visit").tap();
  await expect(page.getByTestId("page-today")).toBeVisible();

  await page.getByTestId("nav-indicators").tap();
  await page.getByTestId("period-half-year").tap();
  await expect(page.getByTestId("rate").first().getByTestId("rate-figures")).toContainText(`${counted + 1}/`);
  await page.getByTestId("rate").first().locator("button").tap();
  await expect(page.getByTestId("rate-detail")).toContainText(name);
  await expect(page.getByTestId("chart")).toBeVisible();
});

test("a register exports as CSV that keeps the Chinese and every row", async ({ page, server }) => {
  await loadDemo(page, server);
  await page.getByTestId("nav-indicators").tap();
  await page.getByTestId("reports-link").tap();
  await page.getByTestId("report-roster").tap();
  await expect(page.getByTestId("report-title")).toHaveText("育龄妇女花名册");
  await expect(page.getByTestId("nav-indicators")).toHaveAttribute("aria-current", "page");
  const rows = parseInt((await page.getByTestId("report-rows").textContent())!, 10);
  expect(rows).toBeGreaterThan(100);

  const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export-csv").tap()]);
  const bytes = await (await import("node:fs")).promises.readFile((await download.path())!);
  expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
  const lines = bytes.subarray(3).toString("utf8").trim().split("\r\n");
  expect(lines[0].split(",").slice(0, 3)).toEqual(["户编号", "村民组", "姓名"]);
  expect(lines.length).toBe(rows + 1);
  expect(download.suggestedFilename()).toMatch(/^育龄妇女花名册-\d{4}-\d{2}-\d{2}\.csv$/);
});

test("a household and a person are added; a future birth date is refused with a reason", async ({ page, server }) => {
  await startVillage(page, server);
  await page.getByTestId("nav-households").tap();
  await page.getByTestId("add-household").tap();
  await page.getByTestId("save-household").tap();
  await expect(page.getByTestId("number-error")).not.toBeEmpty();
  await page.getByTestId("number").fill("0007");
  await page.getByTestId("group").fill("三组");
  await page.getByTestId("flag-one_child").check();
  await page.getByTestId("save-household").tap();
  await expect(page.getByTestId("household-page")).toContainText("0007");
  await expect(page.getByTestId("household-page")).toContainText("独生子女户");

  await page.getByTestId("add-person").tap();
  await page.getByTestId("name").fill("张秀梅");
  await page.getByTestId("birth_date").fill("2999-01-01");
  await page.getByTestId("save-person").tap();
  await expect(page.getByTestId("birth_date-error")).toHaveText("出生日期不能晚于今天");
  await expect(page.getByTestId("name")).toHaveValue("张秀梅");
  await page.getByTestId("birth_date").fill("1990-03-08");
  await page.getByTestId("marital").selectOption("first_marriage");
  await page.getByTestId("save-person").tap();
  await expect(page.getByTestId("member")).toContainText("张秀梅");

  // Found again by her pinyin initials, and due for the three checks.
  await page.getByTestId("nav-households").tap();
  await page.getByTestId("household-search").fill("zxm");
  await expect(page.getByTestId("household-row")).toHaveCount(1);
  await page.getByTestId("nav-today").tap();
  await expect(page.getByTestId("tasks-due")).toContainText("张秀梅");
  await page.reload();
  await expect(page.getByTestId("tasks-due")).toContainText("张秀梅");
});

test("a visit is corrected in place, and the correction waits to sync", async ({ page, server }) => {
  await loadDemo(page, server);
  await page.getByTestId("nav-settings").tap();
  await expect(page.getByTestId("unsynced")).toHaveText(/^0 /);
  await page.getByTestId("nav-households").tap();
  await page.getByTestId("household-row").first().tap();
  // The first member with visits on record.
  const withVisits = (p: Page) =>
    p.getByTestId("member").filter({ has: p.locator("summary", { hasNotText: "(0)" }) }).first();
  const member = withVisits(page);
  await member.locator("summary").tap();
  const visits = await member.getByTestId("visit-link").count();
  expect(visits).toBeGreaterThan(0);
  await member.getByTestId("visit-link").first().tap();
  // A stored visit opens read-only; 更正 switches to the form (issue 14).
  await expect(page.getByTestId("visit-record")).toBeVisible();
  await page.getByTestId("correct-visit").tap();
  await expect(page.getByTestId("visit-form")).toBeVisible();
  await expect(page.getByTestId("visit-title")).toHaveText("更正随访记录");
  await page.locator("#visit-notes").fill("复核：日期无误");
  await page.getByTestId("save-visit").tap();
  await expect(page.getByTestId("household-page")).toBeVisible();
  const again = withVisits(page);
  await again.locator("summary").tap();
  await expect(again.getByTestId("visit-link")).toHaveCount(visits);
  await page.getByTestId("nav-settings").tap();
  await expect(page.getByTestId("unsynced")).not.toHaveText(/^0 /);
});

test("a backup file holds every record and every unsynced change", async ({ page, server }) => {
  await startVillage(page, server);
  await page.getByTestId("nav-households").tap();
  await page.getByTestId("add-household").tap();
  await page.getByTestId("number").fill("0001");
  await page.getByTestId("save-household").tap();
  await expect(page.getByTestId("household-page")).toBeVisible();

  await page.getByTestId("nav-settings").tap();
  const unsynced = parseInt((await page.getByTestId("unsynced").textContent())!, 10);
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export-backup").tap()]);
  expect(download.suggestedFilename()).toMatch(/^fieldbook-backup-杨庄村-\d{4}-\d{2}-\d{2}\.json$/);
  const text = await (await import("node:fs")).promises.readFile((await download.path())!, "utf8");
  const backup = JSON.parse(text);
  expect(backup.format).toBe("fieldbook-backup");
  expect(backup.dataset.villages.map((v: { name: string }) => v.name)).toEqual(["杨庄村"]);
  expect(backup.dataset.households.map((h: { number: string }) => h.number)).toEqual(["0001"]);
  expect(backup.dataset.plans).toHaveLength(1);
  // The count on screen is of records waiting (one per household, person,
  // plan…), not of their fields: every one of them has its changes in the file.
  expect(unsynced).toBeGreaterThan(0);
  const records = new Set(backup.outbox.map((c: { record: { kind: string; id: string } }) => `${c.record.kind}/${c.record.id}`));
  expect(records.size).toBe(unsynced);
});

test("a measure is added, edited and removed, and next year's plan keeps the edits", async ({ page, server }) => {
  await startVillage(page, server);
  await page.getByTestId("nav-plan").tap();
  const section = page.getByTestId("plan-section").first();
  await section.locator("summary").tap();
  const measures = await section.getByTestId("measure").count();
  const total = () => page.getByTestId("plan-progress").textContent().then((t) => Number(t!.split("/")[1].split(" ")[0]));
  const tasksBefore = await total();

  await section.getByTestId("add-measure").tap();
  await section.getByTestId("measure-save").tap();
  await expect(section.locator(".field-error").last()).not.toBeEmpty();
  await section.getByTestId("measure-title").last().fill("入户走访留守老人");
  await section.getByTestId("measure-recurrence").last().selectOption("quarterly");
  await section.getByTestId("measure-save").last().tap();
  await expect(section.getByTestId("measure")).toHaveCount(measures + 1);
  await expect.poll(total).toBe(tasksBefore + 4);

  const added = section.getByTestId("measure").filter({ hasText: "入户走访留守老人" });
  await added.getByTestId("edit-measure").tap();
  await added.getByTestId("measure-recurrence").selectOption("monthly");
  await added.getByTestId("measure-save").tap();
  await expect.poll(total).toBe(tasksBefore + 12);

  await page.getByTestId("start-next-year").tap();
  // Starting next year's plan asks first (issue 14).
  await page.getByTestId("start-next-year-confirm").tap();
  const year = new Date().getFullYear() + 1;
  await expect(page.getByTestId(`plan-year-${year}`)).toHaveAttribute("aria-pressed", "true");
  await page.getByTestId("plan-section").first().locator("summary").tap();
  await expect(page.getByTestId("plan-section").first()).toContainText("入户走访留守老人");

  await page.getByTestId(`plan-year-${year - 1}`).tap();
  const first = page.getByTestId("plan-section").first();
  await first.locator("summary").tap();
  const again = first.getByTestId("measure").filter({ hasText: "入户走访留守老人" });
  await again.getByTestId("edit-measure").tap();
  await again.getByTestId("measure-remove").tap();
  await expect(first.getByTestId("measure")).toHaveCount(measures);
  await expect.poll(total).toBe(tasksBefore);
});

type Rec = { id: string };
/** A backup's records and outbox in a fixed order, for comparing two files. */
function canonical(backup: { dataset: Record<string, unknown>; outbox: { device: string; seq: number }[] }) {
  const dataset: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(backup.dataset)) {
    dataset[key] = Array.isArray(value) ? [...(value as Rec[])].sort((a, b) => a.id.localeCompare(b.id)) : value;
  }
  const outbox = [...backup.outbox].sort((a, b) => a.device.localeCompare(b.device) || a.seq - b.seq);
  return { dataset, outbox };
}

async function exportBackup(page: Page) {
  await page.getByTestId("nav-settings").tap();
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export-backup").tap()]);
  const file = (await download.path())!;
  const text = await (await import("node:fs")).promises.readFile(file, "utf8");
  return { file, backup: JSON.parse(text) };
}

test("a backup restored into a fresh phone gives the same records; a second import changes nothing", async ({
  page,
  server,
  browser,
}) => {
  await startVillage(page, server);
  await addWomanOfChildbearingAge(page, "0001");
  const { file, backup } = await exportBackup(page);
  const unsynced = await page.getByTestId("unsynced").textContent();

  // Another phone, empty: restore from the first run screen.
  const phone = await browser.newContext({ ...PHONE });
  const other = await phone.newPage();
  await other.goto(server.url);
  await expect(other.getByTestId("first-run")).toBeVisible();
  await other.getByTestId("import-backup").setInputFiles(file);
  await expect(other.getByTestId("tasks-due")).toContainText("张秀梅");
  await other.getByTestId("nav-households").tap();
  await expect(other.getByTestId("household-row")).toContainText("0001");
  const restored = await exportBackup(other);
  await expect(other.getByTestId("unsynced")).toHaveText(unsynced!);
  expect(canonical(restored.backup)).toEqual(canonical(backup));

  // The same file again: every record unchanged, nothing added.
  await other.getByTestId("import-backup").setInputFiles(file);
  await expect(other.getByTestId("import-summary")).toBeVisible();
  await expect(other.getByTestId("import-added")).toHaveText("0");
  await expect(other.getByTestId("import-updated")).toHaveText("0");
  await expect(other.getByTestId("import-conflicts")).toHaveText("0");
  const records = Object.values(backup.dataset).filter(Array.isArray).flat().length;
  await expect(other.getByTestId("import-unchanged")).toHaveText(String(records));
  await expect(other.getByTestId("unsynced")).toHaveText(unsynced!);
  await phone.close();
});

test("a damaged or foreign file is refused with the reason, and nothing is imported", async ({ page, server }) => {
  await startVillage(page, server);
  const { backup } = await exportBackup(page);
  const unsynced = await page.getByTestId("unsynced").textContent();
  const text = JSON.stringify(backup);
  const picker = page.getByTestId("import-backup");

  await picker.setInputFiles({ name: "cut.json", mimeType: "application/json", buffer: Buffer.from(text.slice(0, text.length / 2)) });
  await expect(page.getByTestId("import-error")).toContainText("可能已损坏");
  await expect(page.getByTestId("import-error")).toContainText("未导入任何数据");

  await picker.setInputFiles({ name: "list.json", mimeType: "application/json", buffer: Buffer.from('{"items":[1,2]}') });
  await expect(page.getByTestId("import-error")).toContainText("不是本应用的备份文件");

  const orphan = structuredClone(backup);
  orphan.dataset.plans[0].village_id = "00000000-0000-4000-8000-000000000000";
  await picker.setInputFiles({ name: "orphan.json", mimeType: "application/json", buffer: Buffer.from(JSON.stringify(orphan)) });
  await expect(page.getByTestId("import-error")).toContainText("记录不完整");

  await expect(page.getByTestId("unsynced")).toHaveText(unsynced!);
  await page.reload();
  const after = await exportBackup(page);
  expect(canonical(after.backup)).toEqual(canonical(backup));
});

test("a cold start shows the Today list kept from the last run, and a save drops it", async ({ page, server }) => {
  const marks = (name: string) => page.evaluate((n) => performance.getEntriesByName(n).length, name);
  const kept = () => page.evaluate(() => localStorage.getItem("fieldbook.today.fieldbook"));
  await startVillage(page, server);
  await addWomanOfChildbearingAge(page, "0008");
  await page.getByTestId("nav-today").tap();
  await expect(page.getByTestId("tasks-due")).toContainText("张秀梅");
  await expect.poll(kept).toContain("张秀梅");

  // Reopened: the kept list is drawn first, then the one from the records.
  await page.goto(server.url);
  await expect(page.getByTestId("tasks-due")).toContainText("张秀梅");
  await expect.poll(() => marks("fieldbook:today-live")).toBe(1);
  expect(await marks("fieldbook:today-kept")).toBe(1);
  await expect(page.getByTestId("today-kept")).toHaveCount(0);

  // Renamed on her own page: the save drops the kept list, so the next
  // start can only show the new name.
  await page.getByTestId("tasks-due").getByText("0008").tap();
  await page.getByTestId("edit-person").first().tap();
  await page.getByTestId("name").fill("张秀兰");
  await page.getByTestId("save-person").tap();
  await expect(page.getByTestId("member")).toContainText("张秀兰");
  expect(await kept()).toBeNull();
  await page.goto(server.url);
  await expect(page.getByTestId("tasks-due")).toContainText("张秀兰");
  await expect(page.getByTestId("tasks-due")).not.toContainText("张秀梅");
  expect(await marks("fieldbook:today-kept")).toBe(0);
});
