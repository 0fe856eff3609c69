// The app shell at a phone's viewport: online, offline, in both languages,
// installable.
import { test, expect, waitForServiceWorker, tapThroughSections, SECTIONS } from "./fixtures";

test("the app loads online in Chinese and every section opens by tapping", async ({ page, server }) => {
  await page.goto(server.url);
  await expect(page.getByTestId("app-name")).toHaveText("村级计生工作手册");
  await expect(page.locator("html")).toHaveAttribute("lang", "zh-CN");
  await expect(page.getByTestId("page-title")).toHaveText("今日任务");
  const labels = await page.locator(".bottom-nav a").allTextContents();
  expect(labels.map((l) => l.trim())).toEqual(SECTIONS.map((s) => s.nav));
  await tapThroughSections(page);
});

test("with the server gone, a reload and every section still work", async ({ page, server }) => {
  await page.goto(server.url);
  await waitForServiceWorker(page);

  await server.stop();
  expect(await server.isDown()).toBe(true);

  const response = await page.reload();
  expect(response?.fromServiceWorker()).toBe(true);
  await expect(page.getByTestId("app-name")).toHaveText("村级计生工作手册");
  await tapThroughSections(page);

  // A link straight into a section opens offline too.
  const deep = await page.goto(`${server.url}/households`);
  expect(deep?.fromServiceWorker()).toBe(true);
  await expect(page.getByTestId("page-title")).toHaveText("住户与人员");
  await expect(page.getByTestId("nav-households")).toHaveAttribute("aria-current", "page");
});

test("English chosen in Settings stays after a reload, online and offline", async ({ page, server }) => {
  await page.goto(server.url);
  await waitForServiceWorker(page);
  await page.getByTestId("nav-settings").tap();
  await page.getByTestId("lang-en").tap();
  await expect(page.getByTestId("app-name")).toHaveText("Fieldbook");
  await expect(page.getByTestId("lang-en")).toHaveAttribute("aria-pressed", "true");

  await page.reload();
  await expect(page.getByTestId("app-name")).toHaveText("Fieldbook");
  await expect(page.locator("html")).toHaveAttribute("lang", "en");
  await tapThroughSections(page, "en");

  await server.stop();
  await page.reload();
  await expect(page.getByTestId("app-name")).toHaveText("Fieldbook");
  await expect(page.getByTestId("nav-plan")).toHaveText("Plan");

  await page.getByTestId("nav-settings").tap();
  await page.getByTestId("lang-zh-CN").tap();
  await page.reload();
  await expect(page.getByTestId("app-name")).toHaveText("村级计生工作手册");
});

test("an unknown path shows the app's own not-found page", async ({ page, server }) => {
  await page.goto(`${server.url}/no-such-page`);
  await expect(page.getByTestId("page-not-found")).toBeVisible();
  await page.getByRole("link", { name: "回到今日任务" }).tap();
  await expect(page.getByTestId("page-title")).toHaveText("今日任务");
});

test("the manifest makes the app installable, with its icons", async ({ profile, server }) => {
  const page = profile.pages()[0] ?? (await profile.newPage());
  await page.goto(server.url);
  await waitForServiceWorker(page);
  const cdp = await profile.newCDPSession(page);

  const { errors, data } = (await cdp.send("Page.getAppManifest")) as {
    errors: { message: string }[];
    data?: string;
  };
  expect(errors).toEqual([]);
  const manifest = JSON.parse(data!);
  expect(manifest).toMatchObject({
    lang: "zh-CN",
    start_url: "/",
    scope: "/",
    display: "standalone",
    short_name: "计生手册",
  });
  expect(manifest.name).toContain("村级计生工作手册");

  const { installabilityErrors } = (await cdp.send("Page.getInstallabilityErrors")) as {
    installabilityErrors: { errorId: string }[];
  };
  expect(installabilityErrors).toEqual([]);

  // Each PNG icon is served and has the size the manifest claims.
  const pngs = manifest.icons.filter((icon: { type: string }) => icon.type === "image/png");
  expect(pngs.map((i: { purpose: string }) => i.purpose).sort()).toEqual(["any", "any", "maskable"]);
  for (const icon of pngs) {
    const response = await page.request.get(server.url + icon.src);
    expect(response.status()).toBe(200);
    const png = await response.body();
    const [width, height] = [png.readUInt32BE(16), png.readUInt32BE(20)];
    expect(`${width}x${height}`).toBe(icon.sizes);
  }
});

test("persistent storage is asked for after the first tap", async ({ profile, server }) => {
  const page = profile.pages()[0] ?? (await profile.newPage());
  const cdp = await profile.newCDPSession(page);
  await cdp.send("Browser.grantPermissions", {
    origin: server.url,
    permissions: ["durableStorage"],
  });
  // Count the app's calls to persist(), passing each on to the browser.
  await page.addInitScript(() => {
    const persist = StorageManager.prototype.persist;
    (window as any).persistCalls = 0;
    StorageManager.prototype.persist = function () {
      (window as any).persistCalls += 1;
      return persist.call(this);
    };
  });
  await page.goto(server.url);
  await expect(page.getByTestId("app-name")).toBeVisible();
  await page.waitForTimeout(500);
  expect(await page.evaluate(() => (window as any).persistCalls)).toBe(0);

  await page.getByTestId("nav-settings").tap();
  await expect(page.getByTestId("storage-persisted")).toHaveText(/已设为持久保存/);
  await page.getByTestId("nav-plan").tap();
  expect(await page.evaluate(() => (window as any).persistCalls)).toBe(1);
  expect(await page.evaluate(() => navigator.storage.persisted())).toBe(true);
});

test("without the browser's consent, Settings says storage is not persistent", async ({ page, server }) => {
  await page.goto(server.url);
  await page.getByTestId("nav-settings").tap();
  await expect(page.getByTestId("storage-persisted")).toHaveText(/未获持久保存/);
});
