// Two phones of one village and the township's server: offline work on both,
// sync, the same data on both, the conflict reviewed and settled once; the
// server killed during a push; the messages for a wrong password, an
// unreachable server and an expired session; the township's summary.
import AxeBuilder from "@axe-core/playwright";
import { test, expect, type AppServer } from "./fixtures";
import type { Browser, Page } from "@playwright/test";
import { PHONE } from "./browser";

const PASSWORD = "correct horse battery";

/** A village 王庄村 with worker wang and officer zhao. */
function setUpVillage(server: AppServer): string {
  const village = server.admin(["village", "add", "--name", "王庄村", "--township", "石桥镇"]);
  server.admin(["user", "add", "wang", "--role", "worker", "--village", village], PASSWORD);
  server.admin(["user", "add", "zhao", "--role", "officer", "--township", "石桥镇"], PASSWORD);
  return village;
}

async function expectNoViolations(page: Page, screen: string) {
  const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  const summary = results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")}`);
  expect(summary, `axe violations on ${screen}`).toEqual([]);
}

async function newPhone(browser: Browser): Promise<Page> {
  const context = await browser.newContext({ ...PHONE });
  return context.newPage();
}

/** Signs in from the first-run screen; the first sync brings the village. */
async function signIn(phone: Page, server: AppServer, username: string, password = PASSWORD) {
  await phone.goto(server.url);
  await expect(phone.getByTestId("first-run")).toBeVisible();
  await expect(phone.getByTestId("server")).toHaveValue(`${server.url}/`);
  await phone.getByTestId("username").fill(username);
  await phone.getByTestId("password").fill(password);
  await phone.getByTestId("login").tap();
}

async function syncNow(phone: Page) {
  await phone.getByTestId("nav-settings").tap();
  await phone.getByTestId("sync-now").tap();
  await expect(phone.getByTestId("sync-now")).toBeEnabled({ timeout: 60_000 });
  expect(await phone.getByTestId("sync-error").allTextContents(), "sync error shown").toEqual([]);
  await expect(phone.getByTestId("unsynced")).toHaveText(/^0 /);
}

async function openHousehold(phone: Page, number: string) {
  await phone.getByTestId("nav-households").tap();
  await phone.getByTestId("household-row").filter({ hasText: number }).tap();
  await expect(phone.getByTestId("household-page")).toBeVisible();
}

/** Everything a phone holds, from its backup file, in a fixed order. */
async function records(phone: Page) {
  await phone.getByTestId("nav-settings").tap();
  const [download] = await Promise.all([phone.waitForEvent("download"), phone.getByTestId("export-backup").tap()]);
  const text = await (await import("node:fs")).promises.readFile((await download.path())!, "utf8");
  const dataset = JSON.parse(text).dataset as Record<string, { id: string }[]>;
  const out: Record<string, unknown> = {};
  for (const [key, list] of Object.entries(dataset)) {
    out[key] = Array.isArray(list) ? [...list].sort((a, b) => a.id.localeCompare(b.id)) : list;
  }
  return out as Record<string, { id: string; [k: string]: unknown }[]>;
}

async function recordVisit(phone: Page) {
  await phone.getByTestId("nav-today").tap();
  await phone.getByTestId("tasks-due").getByTestId("task").first().tap();
  await expect(phone.getByTestId("visit-form")).toBeVisible();
  await phone.getByTestId("save-visit").tap();
  await expect(phone.getByTestId("page-today")).toBeVisible();
}

async function tick(phone: Page, nth: number) {
  await phone.getByTestId("nav-plan").tap();
  const section = phone.getByTestId("plan-section").first();
  await section.locator("summary").tap();
  await section.getByTestId("tick").nth(nth).tap();
  await section.getByTestId("tick-save").tap();
  await expect(phone.getByTestId("plan-progress")).not.toContainText(" 0/");
}

test("two phones work offline on one household, sync, and end alike; the conflict is settled once for both", async ({
  page: phoneA,
  server,
  browser,
}) => {
  test.setTimeout(240_000);
  setUpVillage(server);

  // Phone A: signs in, starts the year's plan, adds a household and a woman.
  await signIn(phoneA, server, "wang");
  await expect(phoneA.getByTestId("page-today")).toBeVisible();
  await phoneA.getByTestId("nav-plan").tap();
  await phoneA.getByTestId("new-plan-1").tap();
  await expect(phoneA.getByTestId("plan-progress")).toBeVisible();
  await phoneA.getByTestId("nav-households").tap();
  await phoneA.getByTestId("add-household").tap();
  await phoneA.getByTestId("number").fill("0001");
  await phoneA.getByTestId("save-household").tap();
  await phoneA.getByTestId("add-person").tap();
  await phoneA.getByTestId("name").fill("张秀梅");
  await phoneA.getByTestId("birth_date").fill("1990-03-08");
  await phoneA.getByTestId("marital").selectOption("first_marriage");
  await phoneA.getByTestId("save-person").tap();
  await syncNow(phoneA);

  // Phone B: signs in and gets all of it.
  const phoneB = await newPhone(browser);
  await signIn(phoneB, server, "wang");
  await expect(phoneB.getByTestId("page-today")).toBeVisible();
  await phoneB.getByTestId("nav-households").tap();
  await expect(phoneB.getByTestId("household-row")).toContainText("0001");

  // The server goes away; both phones go on working.
  await server.stop();
  await openHousehold(phoneA, "0001");
  await phoneA.getByTestId("edit-household").tap();
  await phoneA.getByTestId("phone").fill("13800000001");
  await phoneA.getByTestId("address").fill("东街1号");
  await phoneA.getByTestId("save-household").tap();
  await expect(phoneA.getByTestId("household-page")).toContainText("东街1号");
  await openHousehold(phoneB, "0001");
  await phoneB.getByTestId("edit-household").tap();
  await phoneB.getByTestId("group").fill("三组");
  await phoneB.getByTestId("address").fill("西街2号");
  await phoneB.getByTestId("save-household").tap();
  await expect(phoneB.getByTestId("household-page")).toContainText("西街2号");
  await recordVisit(phoneA);
  await recordVisit(phoneB);
  await tick(phoneA, 0);
  await tick(phoneB, 1);
  // Offline, a sync says the server cannot be reached, and keeps everything.
  await phoneA.getByTestId("nav-settings").tap();
  await phoneA.getByTestId("sync-now").tap();
  await expect(phoneA.getByTestId("sync-error")).toContainText("连不上服务器");
  await expectNoViolations(phoneA, "settings, signed in, sync failed");
  await expect(phoneA.getByTestId("unsynced")).not.toHaveText(/^0 /);

  // Back at the office: both sync, then both again.
  await server.start();
  for (const phone of [phoneA, phoneB, phoneA, phoneB]) await syncNow(phone);

  const onA = await records(phoneA);
  const onB = await records(phoneB);
  expect(onA).toEqual(onB);
  expect(onA.visits).toHaveLength(2);
  expect(onA.ticks).toHaveLength(2);
  const household = onA.households.find((h) => h.number === "0001")!;
  expect(household.phone).toBe("13800000001");
  expect(household.group).toBe("三组");

  // The address met on both: the later edit shows, the other waits on both
  // phones' review screens.
  for (const phone of [phoneA, phoneB]) {
    await phone.getByTestId("nav-settings").tap();
    await phone.getByTestId("conflicts-link").tap();
    const conflict = phone.getByTestId("conflict");
    await expect(conflict).toHaveCount(1);
    await expect(conflict.getByTestId("kept-value")).toHaveText("西街2号");
    await expect(conflict.getByTestId("lost-value")).toHaveText("东街1号");
  }
  await expectNoViolations(phoneA, "conflicts");
  // Settled on phone A; phone B hears of it at its next sync.
  await phoneA.getByTestId("use-other").tap();
  await expect(phoneA.getByTestId("no-conflicts")).toBeVisible();
  await syncNow(phoneA);
  await syncNow(phoneB);
  await expect(phoneB.getByTestId("conflicts-link")).toHaveCount(0);
  await openHousehold(phoneB, "0001");
  await expect(phoneB.getByTestId("household-page")).toContainText("东街1号");

  // The township sees the village's work.
  const officer = await newPhone(browser);
  await signIn(officer, server, "zhao");
  await officer.getByTestId("township-link").tap();
  const line = officer.getByTestId("township-village").filter({ hasText: "王庄村" });
  await expect(line.getByTestId("village-households")).toHaveText("1");
  await line.getByRole("button", { name: "王庄村" }).tap();
  await expect(officer.getByTestId("village-detail")).toContainText("王庄村");
  await expectNoViolations(officer, "township");
});

test("a wrong password, a server that is down and an expired session each say what to do", async ({ page, server }) => {
  setUpVillage(server);
  await signIn(page, server, "wang", "not the password");
  await expect(page.getByTestId("login-error")).toContainText("用户名或密码不对");

  await page.getByTestId("password").fill(PASSWORD);
  await page.getByTestId("login").tap();
  await expect(page.getByTestId("page-today")).toBeVisible();
  await page.getByTestId("nav-settings").tap();
  await expect(page.getByTestId("signed-in")).toContainText("wang");

  await server.stop();
  await page.getByTestId("sync-now").tap();
  await expect(page.getByTestId("sync-error")).toContainText("连不上服务器");
  await server.start();

  // The password is reset at the office: the phone's session has ended.
  server.admin(["user", "reset-password", "wang"], "a brand new password");
  await page.getByTestId("sync-now").tap();
  await expect(page.getByTestId("sync-error")).toContainText("登录已过期");
  await expect(page.getByTestId("login-form")).toBeVisible();
});

test("the server killed in the middle of a push: the next sync completes, nothing lost or doubled", async ({
  page,
  server,
}) => {
  test.setTimeout(180_000);
  setUpVillage(server);
  await signIn(page, server, "wang");
  await expect(page.getByTestId("page-today")).toBeVisible();
  // Forty households, made offline-style without syncing in between.
  await page.getByTestId("nav-households").tap();
  for (let i = 1; i <= 40; i++) {
    await page.getByTestId("add-household").tap();
    await page.getByTestId("number").fill(String(i).padStart(4, "0"));
    await page.getByTestId("save-household").tap();
    await expect(page.getByTestId("household-page")).toBeVisible();
    await page.getByTestId("nav-households").tap();
  }
  // The server takes the push in and commits it, then dies before the phone
  // hears back: the phone must keep its changes and send them again.
  await page.route("**/api/v1/sync/push", async (route) => {
    await route.fetch().catch(() => undefined);
    await server.stop();
    await route.abort("connectionreset");
  });
  await page.getByTestId("nav-settings").tap();
  await page.getByTestId("sync-now").tap();
  await expect(page.getByTestId("sync-error")).toContainText("连不上服务器");
  await expect(page.getByTestId("unsynced")).not.toHaveText(/^0 /);
  await page.unroute("**/api/v1/sync/push");

  await server.start();
  await syncNow(page);
  const exported = JSON.parse(server.admin(["export"]));
  const households = exported.villages[0].dataset.households as { number: string }[];
  expect(households.map((h) => h.number).sort()).toEqual(
    Array.from({ length: 40 }, (_, i) => String(i + 1).padStart(4, "0")),
  );
  const ids = (exported.changes as { change: { device: string; seq: number } }[]).map(
    (c) => `${c.change.device}/${c.change.seq}`,
  );
  expect(new Set(ids).size).toBe(ids.length);
});

test("signing out waits until changes are synced or backed up; a shared phone is erased after a confirmation", async ({
  page,
  server,
}) => {
  setUpVillage(server);
  await signIn(page, server, "wang");
  await expect(page.getByTestId("sync-badge")).toContainText("上次同步成功");
  await page.getByTestId("nav-households").tap();
  await page.getByTestId("add-household").tap();
  await page.getByTestId("number").fill("0009");
  await page.getByTestId("save-household").tap();
  await expect(page.getByTestId("household-page")).toBeVisible();

  await page.getByTestId("nav-settings").tap();
  await page.getByTestId("logout").tap();
  await expect(page.getByTestId("logout-refused")).toBeVisible();
  await expect(page.getByTestId("signed-in")).toBeVisible();
  // A backup holding every waiting change lets the worker sign out; the
  // records stay.
  await Promise.all([page.waitForEvent("download"), page.getByTestId("export-backup").tap()]);
  await page.getByTestId("logout").tap();
  await expect(page.getByTestId("login-form")).toBeVisible();
  await page.getByTestId("nav-households").tap();
  await expect(page.getByTestId("household-row")).toContainText("0009");

  // Signed in again and synced: the shared phone is erased, after a yes.
  await page.getByTestId("nav-settings").tap();
  await page.getByTestId("username").fill("wang");
  await page.getByTestId("password").fill(PASSWORD);
  await page.getByTestId("login").tap();
  await expect(page.getByTestId("signed-in")).toBeVisible();
  await expect(page.getByTestId("unsynced")).toHaveText(/^0 /);
  await page.getByTestId("erase").tap();
  await expect(page.getByTestId("erase-confirm")).toBeVisible();
  await page.getByTestId("erase-confirm").tap();
  await expect(page.getByTestId("login-form")).toBeVisible();
  await page.getByTestId("nav-today").tap();
  await expect(page.getByTestId("first-run")).toBeVisible();
  // Nothing was lost: the server has the household.
  const exported = JSON.parse(server.admin(["export"]));
  expect(exported.villages[0].dataset.households.map((h: { number: string }) => h.number)).toEqual(["0009"]);
});
