// Touch and layout, the first screen and the words of the shell (issue 14,
// items 9, 10 and 12): every tap target on every main screen is at least
// 44×44 px at 360×640; in landscape (640×360) the page keeps at least 70 % of
// the height; the first screen offers sign-in first and a signed-in worker
// never gets a second village; dates in words, the unsynced count in records.
import AxeBuilder from "@axe-core/playwright";
import { test, expect, type AppServer } from "./fixtures";
import type { Browser, Page } from "@playwright/test";
import { PHONE } from "./browser";

const PASSWORD = "correct horse battery";

/** A village 王庄村 with worker wang. */
function setUpVillage(server: AppServer): string {
  const village = server.admin(["village", "add", "--name", "王庄村", "--township", "石桥镇"]);
  server.admin(["user", "add", "wang", "--role", "worker", "--village", village], PASSWORD);
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

/**
 * Every visible interactive element smaller than 44×44 px on the page: links,
 * buttons, fields, selects, summaries, and for a radio or a checkbox the label
 * that is tapped (its own box, or the label around or for it).
 */
async function smallTargets(page: Page, screen: string): Promise<string[]> {
  const found = await page.evaluate(() => {
    const selector =
      "a[href], button, input:not([type=hidden]), select, textarea, summary";
    const small: string[] = [];
    for (const element of Array.from(document.querySelectorAll<HTMLElement>(selector))) {
      let target: HTMLElement = element;
      if (element instanceof HTMLInputElement && (element.type === "radio" || element.type === "checkbox")) {
        const label =
          element.closest("label") ?? (element.id ? document.querySelector<HTMLElement>(`label[for="${element.id}"]`) : null);
        if (label) target = label;
      }
      // A file input fills its label, which is the button.
      if (element instanceof HTMLInputElement && element.type === "file") {
        target = element.closest("label") ?? element;
      }
      const style = getComputedStyle(target);
      const box = target.getBoundingClientRect();
      if (box.width === 0 || box.height === 0 || style.visibility === "hidden" || style.display === "none") continue;
      if (box.width < 43.5 || box.height < 43.5) {
        const text = (target.textContent ?? "").trim().replace(/\s+/g, " ").slice(0, 24);
        const id = element.dataset.testid ? `[${element.dataset.testid}]` : "";
        const cls = target.className && typeof target.className === "string" ? `.${target.className.split(" ").join(".")}` : "";
        small.push(`${target.tagName.toLowerCase()}${cls}${id} "${text}" ${Math.round(box.width)}×${Math.round(box.height)}`);
      }
    }
    return small;
  });
  // One line per kind of element, so a list of 300 rows says it once.
  return [...new Set(found)].map((line) => `${screen}: ${line}`);
}

test("every tap target on every main screen is at least 44×44 px", async ({ page, server }) => {
  test.setTimeout(240_000);
  const small: string[] = [];
  // Leaving a form may ask first (issue 14): say yes.
  page.on("dialog", (d) => d.accept());
  await page.goto(server.url);
  await expect(page.getByTestId("first-run")).toBeVisible();
  small.push(...(await smallTargets(page, "first screen")));

  await page.getByTestId("try-demo").tap();
  await expect(page.getByTestId("tasks-due")).toBeVisible({ timeout: 120_000 });
  small.push(...(await smallTargets(page, "today")));

  await page.getByTestId("tasks-due").getByTestId("task").first().tap();
  await expect(page.getByTestId("visit-form")).toBeVisible();
  small.push(...(await smallTargets(page, "visit form")));

  await page.getByTestId("nav-households").tap();
  await expect(page.getByTestId("household-row").first()).toBeVisible();
  small.push(...(await smallTargets(page, "households")));

  await page.getByTestId("household-row").first().tap();
  await expect(page.getByTestId("household-page")).toBeVisible();
  small.push(...(await smallTargets(page, "household")));

  await page.getByTestId("edit-person").first().tap();
  await expect(page.getByTestId("person-form")).toBeVisible();
  small.push(...(await smallTargets(page, "person form")));

  await page.getByTestId("nav-plan").tap();
  await page.getByTestId("plan-section").first().locator("summary").tap();
  small.push(...(await smallTargets(page, "plan")));

  await page.getByTestId("nav-indicators").tap();
  await expect(page.getByTestId("chart")).toBeVisible();
  small.push(...(await smallTargets(page, "indicators")));

  await page.getByTestId("reports-link").tap();
  await expect(page.getByTestId("report-roster")).toBeVisible();
  small.push(...(await smallTargets(page, "reports")));

  await page.getByTestId("nav-settings").tap();
  await expect(page.getByTestId("sync-panel")).toBeVisible();
  small.push(...(await smallTargets(page, "settings")));

  expect(small, "tap targets under 44×44 px").toEqual([]);
});

test("in landscape the header and the bottom bar leave the page at least 70 % of the height", async ({
  page,
  server,
}) => {
  await page.goto(server.url);
  await page.getByTestId("try-demo").tap();
  await expect(page.getByTestId("tasks-due")).toBeVisible({ timeout: 120_000 });
  for (const size of [
    { width: 640, height: 360 },
    { width: 740, height: 360 },
    { width: 800, height: 400 },
  ]) {
    await page.setViewportSize(size);
    for (const nav of ["nav-today", "nav-households", "nav-settings"]) {
      await page.getByTestId(nav).tap();
      const { header, bar, height } = await page.evaluate(() => ({
        header: document.querySelector(".app-header")!.getBoundingClientRect().height,
        bar: document.querySelector(".bottom-nav")!.getBoundingClientRect().height,
        height: window.innerHeight,
      }));
      expect(height - header - bar, `${nav} at ${size.width}×${size.height}`).toBeGreaterThanOrEqual(0.7 * height);
      // The bar's tabs stay tap targets.
      const tab = await page.getByTestId(nav).boundingBox();
      expect(tab!.height).toBeGreaterThanOrEqual(44);
    }
  }
  // Back upright: the bar is its usual height again.
  await page.setViewportSize({ width: 360, height: 640 });
  const upright = await page.evaluate(() => document.querySelector(".bottom-nav")!.getBoundingClientRect().height);
  expect(upright).toBeGreaterThanOrEqual(56);
});

test("the first screen offers sign-in first, then a village on this phone alone; it passes axe", async ({
  page,
  server,
}) => {
  await page.goto(server.url);
  await expect(page.getByTestId("first-run")).toBeVisible();
  const account = page.getByTestId("have-account");
  const alone = page.getByTestId("no-server");
  await expect(account.getByRole("heading").first()).toHaveText("已有账户？登录同步");
  await expect(alone.getByRole("heading").first()).toHaveText("没有服务器：在本机建立村");
  await expect(account.getByTestId("login-form")).toBeVisible();
  await expect(alone.getByTestId("village-name")).toBeVisible();
  const [a, b] = [await account.boundingBox(), await alone.boundingBox()];
  expect(a!.y + a!.height).toBeLessThanOrEqual(b!.y);
  // Sign-in is in the first screenful.
  expect((await page.getByTestId("login").boundingBox())!.y).toBeLessThan(640);
  await expectNoViolations(page, "first screen");
  await expect(page.locator("html")).toHaveAttribute("lang", "zh-CN");
});

test("a signed-in worker never creates a second village", async ({ server, browser }) => {
  test.setTimeout(180_000);
  setUpVillage(server);

  // Signed in on an empty phone: the create part goes at once, and the
  // first sync brings her village.
  const phone = await newPhone(browser);
  await phone.goto(server.url);
  await phone.getByTestId("username").fill("wang");
  await phone.getByTestId("password").fill(PASSWORD);
  await phone.getByTestId("login").tap();
  await expect(phone.getByTestId("page-today")).toBeVisible({ timeout: 60_000 });
  await expect(phone.getByTestId("village-name")).toHaveCount(0);
  await expect(phone.getByTestId("first-run")).toHaveCount(0, { timeout: 60_000 });
  await expect(phone.getByTestId("try-demo")).toHaveCount(0);

  // Settings: the dates in words, the counts with separators.
  await phone.getByTestId("nav-settings").tap();
  await expect(phone.getByTestId("last-sync")).toHaveText(/^上次同步成功：\s*\d{1,2}月\d{1,2}日 \d{2}:\d{2}$/);
  await expect(phone.getByTestId("sync-result")).toHaveText(/^发出 [\d,]+ · 收到 [\d,]+$/);
  await expect(phone.getByTestId("unsynced")).toHaveText("0 条记录未同步");
  await expectNoViolations(phone, "settings, signed in");
  await phone.getByTestId("lang-en").tap();
  await expect(phone.getByTestId("last-sync")).toHaveText(/^Last good sync:\s*\d{1,2} [A-Z][a-z]{2} \d{2}:\d{2}$/);
  await expect(phone.getByTestId("unsynced")).toHaveText("0 records not yet synced");
  await expectNoViolations(phone, "settings in English");
  await phone.getByTestId("lang-zh-CN").tap();

  // A phone that made its own village first is not signed in: the server
  // would refuse that village, and she is told why and what to do.
  const other = await newPhone(browser);
  await other.goto(server.url);
  await other.getByTestId("village-name").fill("杨庄村");
  await other.getByTestId("start").tap();
  await expect(other.getByTestId("first-run")).toHaveCount(0);
  await other.getByTestId("nav-settings").tap();
  await other.getByTestId("username").fill("wang");
  await other.getByTestId("password").fill(PASSWORD);
  await other.getByTestId("login").tap();
  await expect(other.getByTestId("login-error")).toContainText("本机已有在本机建立的村");
  await expect(other.getByTestId("login-error")).toContainText("杨庄村");
  await expect(other.getByTestId("signed-in")).toHaveCount(0);
  // The server still holds one village.
  const exported = JSON.parse(server.admin(["export"]));
  expect(exported.villages).toHaveLength(1);
});

test("one saved visit is one record waiting to sync", async ({ page, server }) => {
  await page.goto(server.url);
  await page.getByTestId("try-demo").tap();
  await expect(page.getByTestId("tasks-due")).toBeVisible({ timeout: 120_000 });
  // The demo village is local only: nothing waits.
  await page.getByTestId("nav-settings").tap();
  await expect(page.getByTestId("unsynced")).toHaveText("0 条记录未同步");
  await page.getByTestId("nav-today").tap();
  await page.getByTestId("tasks-due").getByTestId("task").first().tap();
  await expect(page.getByTestId("visit-form")).toBeVisible();
  await page.getByTestId("save-visit").tap();
  await expect(page.getByTestId("visit-form")).toHaveCount(0);
  await page.getByTestId("nav-settings").tap();
  await expect(page.getByTestId("unsynced")).toHaveText("1 条记录未同步");
  await page.getByTestId("lang-en").tap();
  await expect(page.getByTestId("unsynced")).toHaveText("1 record not yet synced");
  await page.getByTestId("lang-zh-CN").tap();
});
