// What a cheap phone feels, measured in Debian's Chromium at 360×640, with
// the CPU slowed by CDP Emulation.setCPUThrottlingRate where a figure says
// "4×". Every phone is a fresh Chromium profile on disk
// (launchPersistentContext), so IndexedDB is on disk as on a phone, and a
// cold start is a new browser process.
//
// 1. Offline cold start with the demo village in IndexedDB (4×): the app's
//    performance marks (the kept Today, the live Today, every other
//    `fieldbook:` mark), a keystroke in household search, the core in wasm,
//    the JS heap and wasm memory once the live Today is drawn; and, in a
//    cold start of its own, the time until a household search finds the
//    village's last household.
// 2. Sync, ours beside PouchDB's, at 1× and 4×, the same records served to
//    both (seed 1's village): ours is fieldbook-server --demo, timed in the
//    page from the tap on 登录 to Today drawn with the sync done, and from the
//    tap on 立即同步 to "received 100" drawn; PouchDB 9's browser build
//    (`dist/pouchdb.min.js`, its default IndexedDB adapter) in a page of
//    express-pouchdb's origin (bench/pouchdb/server.mjs), timed from
//    `PouchDB.replicate()`'s start to its end, with CHT's options.
// 3. Save a visit → Today drawn again without the task (4×), for the
//    `small` data set, the demo village and a village three times its size,
//    each brought in by the app's own backup import; with the JS heap and
//    wasm memory of each.
//
// Results go to $FIELDBOOK_BENCH_OUT as JSON: { figure: { runs: [...], unit } }.
// FIELDBOOK_BENCH_ONLY=cold|sync|save runs one part.
import { test, expect, chromium, type Page, type CDPSession, type BrowserContext } from "@playwright/test";
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { AppServer } from "../../tests/e2e/fixtures";
import { CHROMIUM, CHROMIUM_ARGS, PHONE } from "../../tests/e2e/browser";

const RUNS = Number(process.env.FIELDBOOK_BENCH_RUNS ?? 5);
/** Runs of the slow figures (first syncs at 4×, PouchDB's first syncs). */
const SLOW_RUNS = Number(process.env.FIELDBOOK_BENCH_SLOW_RUNS ?? 3);
const OUT = process.env.FIELDBOOK_BENCH_OUT ?? "../../target/bench/browser.json";
const ONLY = process.env.FIELDBOOK_BENCH_ONLY ?? "";
/** The dataset PouchDB's server serves: the same village as fieldbook-server --demo. */
const POUCH_DATA = process.env.FIELDBOOK_BENCH_POUCH_DATA ?? "";
/** Backups of the three sizes, written by xtask: small.json, village.json, village3.json. */
const BACKUPS = process.env.FIELDBOOK_BENCH_BACKUPS ?? "";

const results: Record<string, { runs: number[]; unit?: string }> = (() => {
  try {
    return JSON.parse(fs.readFileSync(OUT, "utf8"));
  } catch {
    return {};
  }
})();

function record(figure: string, value: number, unit = "ms") {
  (results[figure] ??= { runs: [], unit }).runs.push(Math.round(value * 10) / 10);
  fs.writeFileSync(OUT, JSON.stringify(results, null, 2));
  console.log(`  ${figure}: ${value.toFixed(1)} ${unit}`);
}

function part(name: string) {
  return ONLY === "" || ONLY.split(",").includes(name);
}

async function throttle(page: Page, rate: number): Promise<CDPSession> {
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

// Every wasm memory the page instantiates, kept where the benchmark can
// read its size (an init script: it runs before the page's own scripts).
const WATCH_WASM = `(() => {
  const memories = (window.__benchWasmMemories = []);
  const keep = (result) => {
    const instance = result instanceof WebAssembly.Instance ? result : result && result.instance;
    for (const value of Object.values((instance && instance.exports) || {})) {
      if (value instanceof WebAssembly.Memory) memories.push(value);
    }
    return result;
  };
  const streaming = WebAssembly.instantiateStreaming;
  if (streaming) WebAssembly.instantiateStreaming = (...args) => streaming.apply(WebAssembly, args).then(keep);
  const instantiate = WebAssembly.instantiate;
  WebAssembly.instantiate = (...args) => instantiate.apply(WebAssembly, args).then(keep);
})();`;

/** A phone: a fresh Chromium with its own profile folder (kept for a relaunch until `forget`). */
class Phone {
  context!: BrowserContext;
  page!: Page;
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "fieldbook-bench-phone-"));

  async launch(): Promise<Page> {
    this.context = await chromium.launchPersistentContext(this.dir, {
      ...PHONE,
      serviceWorkers: "allow",
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
    });
    await this.context.addInitScript(WATCH_WASM);
    this.page = this.context.pages()[0] ?? (await this.context.newPage());
    return this.page;
  }

  async close() {
    await this.context?.close();
  }

  async forget() {
    await this.close();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** JS heap (after a garbage collection) and wasm memory, in MB. */
async function memory(page: Page, cdp: CDPSession): Promise<{ js: number; wasm: number | null }> {
  await cdp.send("HeapProfiler.enable");
  await cdp.send("HeapProfiler.collectGarbage");
  const heap = (await cdp.send("Runtime.getHeapUsage")) as { usedSize: number };
  const wasm = await page.evaluate(() => {
    const memories = (window as unknown as { __benchWasmMemories?: WebAssembly.Memory[] }).__benchWasmMemories ?? [];
    return memories.length ? memories.reduce((sum, m) => sum + m.buffer.byteLength, 0) : null;
  });
  return { js: heap.usedSize / 1e6, wasm: wasm === null ? null : wasm / 1e6 };
}

function recordMemory(prefix: string, m: { js: number; wasm: number | null }) {
  record(`${prefix}_js_heap_mb`, m.js, "MB");
  if (m.wasm !== null) {
    record(`${prefix}_wasm_mb`, m.wasm, "MB");
    record(`${prefix}_total_mb`, m.js + m.wasm, "MB");
  }
}

/** Every `fieldbook:` mark of the page, once `until` is set (or 60 s passed): name → ms from navigation. */
async function marks(page: Page, until: string): Promise<Record<string, number>> {
  return page.evaluate(async (until) => {
    for (let i = 0; i < 600 && performance.getEntriesByName(until).length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const out: Record<string, number> = {};
    for (const entry of performance.getEntriesByType("mark")) {
      if (entry.name.startsWith("fieldbook:") && !(entry.name in out)) out[entry.name] = entry.startTime;
    }
    return out;
  }, until);
}

test("offline cold start, search and the core in wasm, with the village in IndexedDB", async () => {
  test.skip(!part("cold"), "FIELDBOOK_BENCH_ONLY");
  test.setTimeout(3600_000);
  const server = await startServer(false);
  const phone = new Phone();
  const setup = await phone.launch();
  await setup.goto(server.url);
  await setup.getByTestId("try-demo").tap();
  await expect(setup.getByTestId("tasks-due")).toBeVisible({ timeout: 300_000 });
  await setup.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });
  const estimate = await setup.evaluate(async () => (await navigator.storage.estimate()).usage ?? 0);
  record("storage_village_bytes", estimate, "bytes");
  await phone.close();
  await server.stop();

  for (let run = 0; run < RUNS; run++) {
    // A cold start: a new browser process on the phone's profile, offline.
    const cold = await phone.launch();
    const cdp = await throttle(cold, 4);
    await cold.goto(server.url);
    await expect(cold.getByTestId("tasks-due")).toBeVisible({ timeout: 120_000 });
    // The app marks the first frame of the kept Today list (drawn before the
    // records are read) and of the live one; times from the navigation.
    const seen = await marks(cold, "fieldbook:today-live");
    for (const [name, ms] of Object.entries(seen)) record(`mark ${name}`, ms);
    if (seen["fieldbook:today-kept"] !== undefined || seen["fieldbook:today-live"] !== undefined) {
      record("cold_start_offline_ms", Math.min(seen["fieldbook:today-kept"] ?? Infinity, seen["fieldbook:today-live"] ?? Infinity));
    }
    if (seen["fieldbook:today-live"] !== undefined) record("cold_start_live_ms", seen["fieldbook:today-live"]);
    // Wait for every record to be in (a background load may follow the
    // live list), then measure memory: the village loaded.
    await cold.waitForTimeout(2_000);
    recordMemory("memory_village", await memory(cold, cdp));

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
    await phone.close();

    // Another cold start: from the navigation to a household search that
    // finds the village's last household (1000), typed as soon as the
    // households page is there.
    const again = await phone.launch();
    await throttle(again, 4);
    await again.goto(server.url, { waitUntil: "commit" });
    const usable = await again.evaluate(async () => {
      const frame = () => new Promise((r) => requestAnimationFrame(r));
      const deadline = performance.now() + 120_000;
      const term = "1000";
      while (performance.now() < deadline) {
        const nav = document.querySelector<HTMLElement>("[data-testid=nav-households]");
        const input = document.querySelector<HTMLInputElement>("[data-testid=household-search]");
        if (input) {
          if (input.value !== term) {
            input.value = term;
            input.dispatchEvent(new Event("input", { bubbles: true }));
          }
          const rows = Array.from(document.querySelectorAll("[data-testid=household-row]"));
          if (rows.some((row) => (row.textContent ?? "").includes(term))) return performance.now();
        } else if (nav) {
          nav.click();
        }
        await frame();
      }
      return null;
    });
    if (usable !== null) record("cold_start_search_usable_ms", usable);
    await phone.close();
  }
  await phone.forget();
});

/** Ours: a fresh phone signs in to the demo server (the first sync), then syncs 100 changes made elsewhere. */
async function oursSync(server: AppServer, rate: number, run: number) {
  const phone = new Phone();
  const page = await phone.launch();
  await throttle(page, rate);
  await page.goto(server.url);
  await expect(page.getByTestId("first-run")).toBeVisible({ timeout: 120_000 });
  await page.getByTestId("username").fill("demo");
  await page.getByTestId("password").fill("fieldbook-demo");
  // From the tap on 登录 to Today drawn with the sync done (in the page: a
  // test's polling would add up to 100 ms).
  const first = await page.evaluate(
    () =>
      new Promise<number>((resolve, reject) => {
        const start = performance.now();
        // Done: the badge under the title says the sync succeeded, and
        // Today's list is there.
        const check = () => {
          const badge = document.querySelector('[data-testid="sync-badge"]');
          const text = badge?.textContent ?? "";
          if (badge?.classList.contains("failed")) {
            observer.disconnect();
            reject(new Error(`sync failed: ${text}`));
            return;
          }
          if (!text.includes("上次同步成功") || text.includes("正在同步") || !document.querySelector('[data-testid="tasks-due"]')) return;
          observer.disconnect();
          requestAnimationFrame(() => resolve(performance.now() - start));
        };
        const observer = new MutationObserver(check);
        observer.observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
        document.querySelector<HTMLButtonElement>('[data-testid="login"]')!.click();
      }),
  );
  const login = await page.evaluate(
    () => performance.getEntriesByType("resource").find((e) => e.name.includes("/api/v1/login"))?.duration ?? null,
  );
  record(`first_sync_${rate}x_ms`, first);
  if (login !== null) record(`first_sync_login_${rate}x_ms`, login);

  // 100 changes made elsewhere, then one sync.
  const token = (
    (await (
      await fetch(`${server.url}/api/v1/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username: "demo", password: "fieldbook-demo" }),
      })
    ).json()) as { token: string }
  ).token;
  const pulled = (await (
    await fetch(`${server.url}/api/v1/sync/pull`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ cursor: 0, limit: 5000 }),
    })
  ).json()) as { changes: { change: { record: { kind: string }; field: string } }[] };
  const households = pulled.changes
    .filter((c) => c.change.record.kind === "household" && c.change.field === "number")
    .slice(0, 100);
  expect(households).toHaveLength(100);
  const device = crypto.randomUUID();
  const now = Date.now();
  const changes = households.map((c, i) => ({
    record: c.change.record,
    field: "notes",
    value: `bench ${rate}-${run}-${i}`,
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
  await page.getByTestId("nav-settings").tap();
  await expect(page.getByTestId("sync-now")).toBeEnabled({ timeout: 120_000 });
  // From the tap on 立即同步 to the result drawn.
  const incremental = await page.evaluate(
    () =>
      new Promise<number>((resolve) => {
        const button = document.querySelector<HTMLButtonElement>('[data-testid="sync-now"]')!;
        const done = () => / 100$/.test(document.querySelector('[data-testid="sync-result"]')?.textContent ?? "");
        const begin = performance.now();
        const observer = new MutationObserver(() => {
          if (!done()) return;
          observer.disconnect();
          requestAnimationFrame(() => resolve(performance.now() - begin));
        });
        observer.observe(document.body, { subtree: true, childList: true, characterData: true });
        button.click();
      }),
  );
  await expect(page.getByTestId("sync-result")).toHaveText(/ 100$/);
  record(`incremental_sync_100_${rate}x_ms`, incremental);
  await phone.forget();
}

/** express-pouchdb (bench/pouchdb/server.mjs) in a Node process of its own. */
class PouchServer {
  private child!: ChildProcess;
  origin = "";
  /** CHT's replication options, as server.mjs (and replicate.mjs) define them. */
  options: unknown = null;

  async start(data: string) {
    const script = path.resolve(__dirname, "../pouchdb/server.mjs");
    this.child = spawn("node", [script, "--data", data], { stdio: ["pipe", "pipe", "inherit"] });
    const ready = await new Promise<{ origin: string; options: unknown }>((resolve, reject) => {
      let out = "";
      this.child.stdout!.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes("\n")) resolve(JSON.parse(out.split("\n")[0]));
      });
      this.child.once("exit", (code) => reject(new Error(`server.mjs exited (${code})`)));
    });
    this.origin = ready.origin;
    this.options = ready.options;
  }

  async stop() {
    const exited = new Promise((resolve) => this.child.once("exit", resolve));
    this.child.stdin!.end();
    await exited;
  }
}

/** PouchDB's browser build on its IndexedDB adapter: a first replication into an empty phone, then 100 edited documents. */
async function pouchSync(server: PouchServer, options: unknown, rate: number, run: number) {
  const phone = new Phone();
  const page = await phone.launch();
  await throttle(page, rate);
  await page.goto(`${server.origin}/_bench/page.html`);
  const url = `${server.origin}/fieldbook`;
  const replicate = (check: { ids?: string[]; revs?: string[] }) =>
    page.evaluate(
      async ({ url, options, check }) => {
        const P = (window as unknown as { PouchDB: any }).PouchDB;
        const local = new P("phone");
        const remote = new P(url);
        const start = performance.now();
        const result = await P.replicate(remote, local, options);
        const ms = performance.now() - start;
        const info = await local.info();
        let edited = true;
        if (check.ids) {
          const rows = (await local.allDocs({ keys: check.ids })).rows;
          edited = rows.every((row: any, i: number) => row.value?.rev === check.revs![i]);
        }
        return { ms, status: result.status, written: result.docs_written, count: info.doc_count, adapter: local.adapter, edited };
      },
      { url, options, check },
    );
  const first = await replicate({});
  expect(first.status).toBe("complete");
  expect(first.adapter).toBe("idb");
  expect(first.count).toBe(first.written);
  record(`pouchdb_first_sync_${rate}x_ms`, first.ms);
  const edit = (await (await fetch(`${server.origin}/_bench/edit?count=100&run=${rate * 100 + run}`, { method: "POST" })).json()) as {
    ids: string[];
    revs: string[];
  };
  const incremental = await replicate(edit);
  expect(incremental.status).toBe("complete");
  expect(incremental.written).toBe(100);
  expect(incremental.edited).toBe(true);
  record(`pouchdb_incremental_100_${rate}x_ms`, incremental.ms);
  await phone.forget();
}

test("sync, ours and PouchDB's in the same Chromium, at 1× and 4× CPU", async () => {
  test.skip(!part("sync"), "FIELDBOOK_BENCH_ONLY");
  test.setTimeout(3 * 3600_000);
  const ours = await startServer(true);
  const pouch = POUCH_DATA ? new PouchServer() : null;
  await pouch?.start(POUCH_DATA);
  for (const rate of [1, 4]) {
    const runs = rate === 1 ? RUNS : SLOW_RUNS;
    // Side by side, run by run, so both meet the same machine.
    for (let run = 0; run < runs; run++) {
      await oursSync(ours, rate, run);
      if (pouch && run < SLOW_RUNS) await pouchSync(pouch, pouch.options, rate, run);
    }
  }
  await pouch?.stop();
  await ours.stop();
});

test("save a visit → Today drawn again without its task, at three sizes (4× CPU)", async () => {
  test.skip(!part("save") || !BACKUPS, "FIELDBOOK_BENCH_ONLY or no FIELDBOOK_BENCH_BACKUPS");
  test.setTimeout(3 * 3600_000);
  const server = await startServer(false);
  for (const size of ["small", "village", "village3"]) {
    const phone = new Phone();
    const setup = await phone.launch();
    await setup.goto(server.url);
    await setup.getByTestId("import-backup").setInputFiles(path.join(BACKUPS, `${size}.json`));
    await expect(setup.getByTestId("tasks-due")).toBeVisible({ timeout: 1_200_000 });
    await phone.close();

    // The app opened again on that data, as a worker's day begins.
    const page = await phone.launch();
    await page.goto(server.url);
    await expect(page.getByTestId("tasks-due")).toBeVisible({ timeout: 600_000 });
    await marks(page, "fieldbook:today-live");
    await page.waitForTimeout(2_000);
    const cdp = await throttle(page, 4);
    recordMemory(`memory_size_${size}`, await memory(page, cdp));

    for (let run = 0; run < RUNS; run++) {
      const rows = page.getByTestId("tasks-due").locator("[data-anchor]");
      await expect(rows.first()).toBeVisible({ timeout: 60_000 });
      const anchor = await rows.nth(run % 3).getAttribute("data-anchor");
      const row = page.locator(`[data-anchor="${anchor}"]`);
      await row.getByTestId("task").first().tap();
      await expect(page.getByTestId("visit-form")).toBeVisible({ timeout: 60_000 });
      await expect(page.getByTestId("save-visit")).toBeEnabled();
      // From the tap on 保存 to Today drawn again without that task.
      const ms = await page.evaluate(
        (anchor) =>
          new Promise<number>((resolve) => {
            const done = () =>
              !!document.querySelector('[data-testid="page-today"] [data-testid="tasks-due"]') &&
              !document.querySelector(`[data-anchor="${anchor}"]`);
            const start = performance.now();
            const observer = new MutationObserver(() => {
              if (!done()) return;
              observer.disconnect();
              requestAnimationFrame(() => resolve(performance.now() - start));
            });
            observer.observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
            document.querySelector<HTMLButtonElement>('[data-testid="save-visit"]')!.click();
          }),
        anchor,
      );
      record(`save_to_today_${size}_ms`, ms);
      await expect(page.getByTestId("page-today")).toBeVisible();
    }
    await phone.forget();
  }
  await server.stop();
});
