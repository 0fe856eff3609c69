// What a cheap phone feels, measured in Debian's Chromium at 360×640 with the
// CPU slowed 4× (CDP Emulation.setCPUThrottlingRate): the offline cold start
// to the Today list with the village in IndexedDB, a keystroke in household
// search, the core's due tasks and indicators in wasm, the first full sync of
// the village from fieldbook-server and an incremental one of 100 changes,
// and the bytes the browser stores. Results go to $FIELDBOOK_BENCH_OUT as
// JSON: { figure: { runs: [ms…] } }.
import { test, expect, type Page, type CDPSession } from "@playwright/test";
import * as fs from "node:fs";
import { AppServer } from "../../tests/e2e/fixtures";

const RUNS = Number(process.env.FIELDBOOK_BENCH_RUNS ?? 5);
const OUT = process.env.FIELDBOOK_BENCH_OUT ?? "../../target/bench/browser.json";
const results: Record<string, { runs: number[]; unit?: string }> = {};

function record(figure: string, value: number, unit = "ms") {
  (results[figure] ??= { runs: [], unit }).runs.push(value);
  fs.writeFileSync(OUT, JSON.stringify(results, null, 2));
}

async function throttle(page: Page, rate = 4): Promise<CDPSession> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Emulation.setCPUThrottlingRate", { rate });
  return cdp;
}

async function freePort(): Promise<number> {
  const net = await import("node:net");
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

async function startServer(demo: boolean): Promise<AppServer> {
  const server = new AppServer(await freePort(), process.env.FIELDBOOK_DIST!);
  if (demo) server.extraArgs.push("--demo");
  await server.start();
  return server;
}

test("offline cold start, search and the core in wasm, with the village in IndexedDB", async ({ browser }) => {
  const server = await startServer(false);
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(server.url);
  await page.getByTestId("try-demo").tap();
  await expect(page.getByTestId("tasks-due")).toBeVisible({ timeout: 300_000 });
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });
  const estimate = await page.evaluate(async () => (await navigator.storage.estimate()).usage ?? 0);
  record("storage_village_bytes", estimate, "bytes");
  await server.stop();

  for (let run = 0; run < RUNS; run++) {
    const cold = await context.newPage();
    await throttle(cold);
    await cold.goto(server.url);
    await expect(cold.getByTestId("tasks-due")).toBeVisible({ timeout: 120_000 });
    // The app marks the first frame with a Today list in the page: the list
    // kept from the last run ("fieldbook:today-kept", shown while the
    // records are read) and the live one computed from every record
    // ("fieldbook:today-live"). Times are from the navigation's start.
    const marks = await cold.evaluate(async () => {
      const first = (name: string) => performance.getEntriesByName(name)[0]?.startTime;
      for (let i = 0; i < 600 && first("fieldbook:today-live") === undefined; i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      return { kept: first("fieldbook:today-kept"), live: first("fieldbook:today-live") };
    });
    record("cold_start_offline_ms", Math.min(marks.kept ?? Infinity, marks.live ?? Infinity));
    if (marks.live !== undefined) record("cold_start_live_ms", marks.live);

    // A keystroke in household search to the list updated: measured in the
    // page, from the input event to the frame after the list changed.
    await cold.getByTestId("nav-households").tap();
    await expect(cold.getByTestId("household-row").first()).toBeVisible();
    const ms = await cold.evaluate(
      () =>
        new Promise<number>((resolve) => {
          const input = document.querySelector<HTMLInputElement>("[data-testid=household-search]")!;
          const list = document.querySelector("[data-testid=page-households]")!;
          const start = performance.now();
          const done = new MutationObserver(() => {
            done.disconnect();
            requestAnimationFrame(() => resolve(performance.now() - start));
          });
          done.observe(list, { childList: true, subtree: true, characterData: true });
          input.value = input.value === "z" ? "zh" : "z";
          input.dispatchEvent(new Event("input", { bubbles: true }));
        }),
    );
    record("search_keystroke_ms", ms);

    const core = await cold.evaluate(() => {
      const bindings = (window as unknown as { wasmBindings: { bench_core: (runs: number) => Float64Array } }).wasmBindings;
      return Array.from(bindings.bench_core(1));
    });
    record("core_wasm_ms", core[0]);
    await cold.close();
  }
  await context.close();
});

test("first full sync of the demo village, and an incremental sync of 100 changes", async ({ browser }) => {
  const server = await startServer(true);
  for (let run = 0; run < RUNS; run++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(server.url);
    await expect(page.getByTestId("first-run")).toBeVisible();
    await page.getByTestId("username").fill("demo");
    await page.getByTestId("password").fill("fieldbook-demo");
    const start = Date.now();
    await page.getByTestId("login").tap();
    await expect(page.getByTestId("tasks-due")).toBeVisible({ timeout: 600_000 });
    await page.getByTestId("nav-settings").tap();
    await expect(page.getByTestId("sync-result")).not.toBeEmpty({ timeout: 600_000 });
    record("first_sync_ms", Date.now() - start);

    // 100 changes made elsewhere, then one sync.
    const token = (await (await fetch(`${server.url}/api/v1/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "demo", password: "fieldbook-demo" }),
    })).json()).token as string;
    const pulled = await (await fetch(`${server.url}/api/v1/sync/pull`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ cursor: 0, limit: 5000 }),
    })).json();
    const households = pulled.changes
      .filter((c: { change: { record: { kind: string }; field: string } }) => c.change.record.kind === "household" && c.change.field === "number")
      .slice(0, 100);
    const device = crypto.randomUUID();
    const now = Date.now();
    const changes = households.map((c: { change: { record: unknown } }, i: number) => ({
      record: c.change.record,
      field: "notes",
      value: `bench ${run}-${i}`,
      ts: { wall_ms: now, counter: i },
      device,
      seq: i + 1,
    }));
    const pushed = await fetch(`${server.url}/api/v1/sync/push`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ device, changes }),
    });
    expect(pushed.status).toBe(200);
    // Timed in the page, from the tap to the result drawn (a test's
    // polling would add up to 100 ms to a figure of that order).
    const elapsed = await page.evaluate(
      () =>
        new Promise<number>((resolve) => {
          const button = document.querySelector<HTMLButtonElement>('[data-testid="sync-now"]')!;
          const done = () =>
            /已下载 100$/.test(document.querySelector('[data-testid="sync-result"]')?.textContent ?? "");
          const begin = performance.now();
          const observer = new MutationObserver(() => {
            if (!done()) return;
            observer.disconnect();
            resolve(performance.now() - begin);
          });
          observer.observe(document.body, { subtree: true, childList: true, characterData: true });
          button.click();
        }),
    );
    await expect(page.getByTestId("sync-result")).toHaveText(/已下载 100$/);
    record("incremental_sync_100_ms", elapsed);
    await context.close();
  }
  await server.stop();
});
