// The real server as a test fixture: started on a free port for each test,
// and stoppable mid-test, which is how the offline tests prove that the
// service worker, not the network, served the app.
import { test as base, chromium, expect, type BrowserContext, type Page } from "@playwright/test";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CHROMIUM, CHROMIUM_ARGS, PHONE } from "./browser";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as net from "node:net";

export function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the end-to-end tests with \`cargo xtask test\``);
  return value;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

export class AppServer {
  private process: ChildProcess | null = null;
  /** More command-line arguments (e.g. `--demo` for the benchmarks). */
  readonly extraArgs: string[] = [];
  /** The server's own SQLite folder, kept across restarts of one test. */
  readonly dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "fieldbook-data-"));

  constructor(
    readonly port: number,
    public dist: string,
  ) {}

  /**
   * Runs an admin command on the server's database (it may be running), with
   * `stdin` as its standard input (a password). Returns its output.
   */
  admin(args: string[], stdin?: string): string {
    const ran = spawnSync(requireEnv("FIELDBOOK_SERVER_BIN"), ["--data-dir", this.dataDir, ...args], {
      input: stdin === undefined ? "" : `${stdin}\n`,
      encoding: "utf8",
      // `export` of a whole village is tens of megabytes.
      maxBuffer: 1 << 30,
    });
    if (ran.status !== 0) throw new Error(`fieldbook-server ${args.join(" ")} failed: ${ran.stderr}`);
    return ran.stdout.trim();
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts fieldbook-server on `dist` and waits until it listens. */
  async start(dist: string = this.dist): Promise<void> {
    this.dist = dist;
    const child = spawn(
      requireEnv("FIELDBOOK_SERVER_BIN"),
      ["--host", "127.0.0.1", "--port", String(this.port), "--dist", dist, "--data-dir", this.dataDir, ...this.extraArgs],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    this.process = child;
    await new Promise<void>((resolve, reject) => {
      let output = "";
      const timer = setTimeout(() => reject(new Error(`server did not start: ${output}`)), 60_000);
      const read = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes("Fieldbook is running on")) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on("data", read);
      child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`server exited (${code}): ${output}`));
      });
    });
  }

  /** Kills the server outright, as a power cut or a lost Wi-Fi would. */
  async stop(): Promise<void> {
    const child = this.process;
    this.process = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
  }

  /** True when nothing answers on the server's port. */
  async isDown(): Promise<boolean> {
    try {
      await fetch(this.url, { signal: AbortSignal.timeout(3_000) });
      return false;
    } catch {
      return true;
    }
  }
}

/**
 * Content-Security-Policy violations: every browser context a test opens
 * gets an init script that reports each `securitypolicyviolation` event of
 * its pages (and the console's CSP messages) here, and an automatic fixture
 * requires that a test saw none.
 */
let cspViolations: string[] = [];
const watchedContexts = new WeakSet<BrowserContext>();

const CSP_LISTENER = `document.addEventListener("securitypolicyviolation", (event) => {
  const report = {
    directive: event.violatedDirective,
    blocked: event.blockedURI,
    source: event.sourceFile,
    line: event.lineNumber,
    sample: event.sample,
    page: location.href,
  };
  try { window.__fieldbookCspViolation(JSON.stringify(report)); } catch (_) {}
}, true);`;

/** Starts collecting `context`'s CSP violations (once per context). */
export async function watchCsp(context: BrowserContext): Promise<void> {
  if (watchedContexts.has(context)) return;
  watchedContexts.add(context);
  await context.exposeBinding("__fieldbookCspViolation", (_source, report: string) => {
    cspViolations.push(report);
  });
  await context.addInitScript(CSP_LISTENER);
  const watchConsole = (page: Page) =>
    page.on("console", (message) => {
      if (message.text().includes("Content Security Policy")) cspViolations.push(`console: ${message.text()}`);
    });
  context.pages().forEach(watchConsole);
  context.on("page", watchConsole);
}

/** How many violations this test has seen so far. */
export function cspViolationCount(): number {
  return cspViolations.length;
}

/** The violations seen so far in this test, which are then forgotten. */
export function takeCspViolations(): string[] {
  const taken = cspViolations;
  cspViolations = [];
  return taken;
}

export const test = base.extend<{ server: AppServer; profile: BrowserContext; cspCheck: void }>({
  // Every test: watch every context it opens, then require no violation.
  cspCheck: [
    async ({ browser }, use, testInfo) => {
      cspViolations = [];
      const newContext = browser.newContext.bind(browser);
      browser.newContext = async (...args: Parameters<typeof browser.newContext>) => {
        const context = await newContext(...args);
        await watchCsp(context);
        return context;
      };
      await use();
      browser.newContext = newContext;
      const seen = takeCspViolations();
      const events = seen.filter((v) => !v.startsWith("console: ")).length;
      testInfo.annotations.push({ type: "csp-violations", description: String(events) });
      expect(seen, "Content-Security-Policy violations").toEqual([]);
    },
    { auto: true },
  ],
  context: async ({ context }, use) => {
    await watchCsp(context);
    await use(context);
  },
  server: async ({}, use) => {
    const server = new AppServer(await freePort(), requireEnv("FIELDBOOK_DIST"));
    await server.start();
    await use(server);
    await server.stop();
    fs.rmSync(server.dataDir, { recursive: true, force: true });
  },
  // A browser with a real profile on disk, as on a phone. Playwright's usual
  // contexts are incognito, where Chromium neither offers to install an app
  // nor grants persistent storage.
  profile: async ({}, use) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fieldbook-profile-"));
    const context = await chromium.launchPersistentContext(dir, {
      ...PHONE,
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
      serviceWorkers: "allow",
    });
    await watchCsp(context);
    await use(context);
    await context.close();
    fs.rmSync(dir, { recursive: true, force: true });
  },
});

export { expect };

/**
 * Waits until a service worker controls the page and has finished
 * precaching. `navigator.serviceWorker.ready` never settles if the app failed
 * to register one, hence the time limit.
 */
export async function waitForServiceWorker(page: Page): Promise<void> {
  await page.evaluate(async () => {
    const limit = (what: string) =>
      new Promise((_, reject) => setTimeout(() => reject(new Error(`no ${what} after 30 s`)), 30_000));
    await Promise.race([navigator.serviceWorker.ready, limit("active service worker")]);
    if (!navigator.serviceWorker.controller) {
      await Promise.race([
        new Promise((resolve) =>
          navigator.serviceWorker.addEventListener("controllerchange", resolve, { once: true }),
        ),
        limit("controlling service worker"),
      ]);
    }
  });
}

/** The five sections: test id, Chinese title, English title, path. */
export const SECTIONS = [
  { slug: "today", zh: "今日任务", en: "Today", nav: "今日", path: "/" },
  { slug: "households", zh: "住户与人员", en: "Households and people", nav: "住户", path: "/households" },
  { slug: "plan", zh: "年度工作计划", en: "Work plan", nav: "计划", path: "/plan" },
  { slug: "indicators", zh: "统计与报表", en: "Indicators and reports", nav: "统计", path: "/indicators" },
  { slug: "settings", zh: "同步与设置", en: "Sync and settings", nav: "设置", path: "/settings" },
] as const;

/** Taps through every section and checks each page and its current marker. */
export async function tapThroughSections(page: Page, lang: "zh" | "en" = "zh"): Promise<void> {
  for (const section of [...SECTIONS.slice(1), SECTIONS[0]]) {
    const link = page.getByTestId(`nav-${section.slug}`);
    await link.tap();
    await expect(page.getByTestId("page-title")).toHaveText(section[lang]);
    await expect(link).toHaveAttribute("aria-current", "page");
    expect(new URL(page.url()).pathname).toBe(section.path);
  }
}
