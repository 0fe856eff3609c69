// The page closed in the middle of a save and in the middle of a sync: after reopening, every save the worker saw finish is
// there, each save is whole or absent (record and outbox together), and the
// next sync completes with nothing lost or doubled.
import { test, expect, type AppServer } from "./fixtures";
import type { BrowserContext, Page } from "@playwright/test";

const PASSWORD = "correct horse battery";

/** What the phone's IndexedDB holds of households numbered 09xx. */
async function stored(page: Page): Promise<{ households: Record<string, string>; outbox: Record<string, number> }> {
  return page.evaluate(async () => {
    const db: IDBDatabase = await new Promise((resolve, reject) => {
      const open = indexedDB.open("fieldbook");
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
    const all = (store: string) =>
      new Promise<any[]>((resolve, reject) => {
        const request = db.transaction(store, "readonly").objectStore(store).getAll();
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
    const households: Record<string, string> = {};
    for (const h of await all("households")) if (String(h.number).startsWith("09")) households[h.id] = h.number;
    const outbox: Record<string, number> = {};
    for (const c of await all("outbox")) {
      if (c.record.kind === "household") outbox[c.record.id] = (outbox[c.record.id] ?? 0) + 1;
    }
    db.close();
    return { households, outbox };
  });
}

async function openApp(context: BrowserContext, server: AppServer): Promise<Page> {
  const page = await context.newPage();
  await page.goto(server.url);
  await expect(page.getByTestId("page-today")).toBeVisible();
  await expect(page.getByTestId("loading")).toHaveCount(0);
  return page;
}

test("a page closed in the middle of a save: each save whole or absent, none seen finished lost", async ({
  browser,
  server,
}) => {
  test.setTimeout(180_000);
  const context = await browser.newContext();
  let page = await context.newPage();
  await page.goto(server.url);
  await page.getByTestId("village-name").fill("杨庄村");
  await page.getByText("篇二", { exact: false }).first().tap();
  await page.getByTestId("start").tap();
  await expect(page.getByTestId("nothing-due")).toBeVisible();

  const finished = new Set<string>();
  // Twelve saves, each cut off at another moment: the page closed right
  // away, or after a few milliseconds.
  for (let i = 0; i < 12; i++) {
    const number = `09${String(i).padStart(2, "0")}`;
    await page.getByTestId("nav-households").tap();
    await page.getByTestId("add-household").tap();
    await page.getByTestId("number").fill(number);
    await page.getByTestId("group").fill(`组${i}`);
    await page.getByTestId("save-household").tap();
    await page.waitForTimeout([0, 1, 3, 8, 15, 30][i % 6]);
    if (await page.getByTestId("household-page").isVisible()) finished.add(number);
    await page.close({ runBeforeUnload: false });
    page = await openApp(context, server);
    const { households, outbox } = await stored(page);
    const numbers = Object.values(households);
    for (const done of finished) expect(numbers, `save ${done} was seen finished`).toContain(done);
    // Whole or absent: a stored household has its changes waiting to sync,
    // and no change waits for a household that is not stored.
    for (const id of Object.keys(households)) expect(outbox[id] ?? 0, `changes of ${households[id]}`).toBeGreaterThan(1);
    for (const id of Object.keys(outbox)) expect(households[id], `household of waiting change ${id}`).toBeDefined();
  }
  await context.close();
});

test("a page closed in the middle of a first sync: the next sync completes, nothing lost or doubled", async ({
  browser,
  server,
}) => {
  test.setTimeout(300_000);
  await server.stop();
  server.extraArgs.push("--demo");
  await server.start();
  const context = await browser.newContext();
  let page = await context.newPage();
  await page.goto(server.url);
  await page.getByTestId("username").fill("demo");
  await page.getByTestId("password").fill("fieldbook-demo");
  await page.getByTestId("login").tap();
  // The village is large: close the page once most records are in,
  // with more still to come.
  await page.getByTestId("nav-settings").tap();
  await expect(page.getByTestId("sync-now")).toBeDisabled({ timeout: 60_000 });
  // At least 20,000 received (counts are shown with thousands separators).
  await expect(page.getByTestId("sync-progress")).toHaveText(/ ([2-9]\d,\d{3}|[1-9]\d\d,\d{3}|[1-9]\d{0,2}(,\d{3}){2,})$/, {
    timeout: 120_000,
  });
  await expect(page.getByTestId("sync-now")).toBeDisabled();
  await page.close({ runBeforeUnload: false });

  // Reopened, the phone reads what it holds (tens of thousands of records,
  // for seconds). A sync asked for meanwhile waits for that instead of
  // failing: the button is tapped the moment it is drawn.
  page = await context.newPage();
  await page.addInitScript(() => {
    new MutationObserver((_, observer) => {
      const button = document.querySelector<HTMLButtonElement>('[data-testid="sync-now"]');
      if (!button) return;
      observer.disconnect();
      (window as unknown as { tappedAt: number }).tappedAt = performance.now();
      button.click();
    }).observe(document, { childList: true, subtree: true });
  });
  await page.goto(`${server.url}/settings`);
  await expect(page.getByTestId("signed-in")).toBeVisible();
  const [tappedAt, readAt] = await page.evaluate(async () => {
    const tapped = (window as unknown as { tappedAt?: number }).tappedAt;
    while (performance.getEntriesByName("fieldbook:records-read").length === 0) {
      await new Promise((r) => setTimeout(r, 50));
    }
    return [tapped, performance.getEntriesByName("fieldbook:records-read")[0].startTime];
  });
  expect(tappedAt, "the sync was asked for before the records were read").toBeLessThan(readAt);
  await expect(page.getByTestId("sync-now")).toBeEnabled({ timeout: 240_000 });
  expect(await page.getByTestId("sync-error").allTextContents(), "sync error shown").toEqual([]);

  // A household made now goes up with the next sync, once.
  await page.getByTestId("nav-households").tap();
  await page.getByTestId("add-household").tap();
  await page.getByTestId("number").fill("2999");
  await page.getByTestId("save-household").tap();
  await expect(page.getByTestId("household-page")).toBeVisible();
  await page.getByTestId("nav-settings").tap();
  await page.getByTestId("sync-now").tap();
  await expect(page.getByTestId("sync-now")).toBeEnabled({ timeout: 120_000 });
  expect(await page.getByTestId("sync-error").allTextContents(), "sync error shown").toEqual([]);
  await expect(page.getByTestId("unsynced")).toHaveText(/^0 /);

  const exported = JSON.parse(server.admin(["export"]));
  const village = exported.villages[0];
  const serverHouseholds = (village.dataset.households as { id: string; number: string }[]).map((h) => h.id).sort();
  expect(village.dataset.households.filter((h: { number: string }) => h.number === "2999")).toHaveLength(1);
  const ids = (exported.changes as { change: { device: string; seq: number } }[]).map(
    (c) => `${c.change.device}/${c.change.seq}`,
  );
  expect(new Set(ids).size).toBe(ids.length);
  // The phone holds every household the server has.
  const onPhone = await page.evaluate(async () => {
    const db: IDBDatabase = await new Promise((resolve, reject) => {
      const open = indexedDB.open("fieldbook");
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
    const keys: IDBValidKey[] = await new Promise((resolve, reject) => {
      const request = db.transaction("households", "readonly").objectStore("households").getAllKeys();
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    db.close();
    return keys.map(String).sort();
  });
  expect(onPhone).toEqual(serverHouseholds);
  await context.close();
});
