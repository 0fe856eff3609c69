// The Content-Security-Policy the app runs under: the page's answer carries
// it (trunk's inline script allowed by hash, never 'unsafe-inline' for
// scripts), the app starts under it, and the check every test ends with
// (fixtures.ts) does catch a violation.
import { test, expect, cspViolationCount, takeCspViolations } from "./fixtures";

test("the app runs under its policy, and a violation would be caught", async ({ page, server }) => {
  const response = await page.goto(server.url);
  const headers = response!.headers();
  const policy = headers["content-security-policy"];
  expect(policy).toMatch(/script-src 'self' 'wasm-unsafe-eval' 'sha256-[A-Za-z0-9+/]+=*'/);
  expect(policy).toContain("frame-ancestors 'none'");
  expect(policy).toContain("object-src 'none'");
  expect(policy).toContain("base-uri 'none'");
  expect(policy.split(";").find((d) => d.trim().startsWith("script-src"))).not.toContain("unsafe-inline");
  expect(headers["x-frame-options"]).toBe("DENY");
  expect(headers["x-content-type-options"]).toBe("nosniff");
  expect(headers["referrer-policy"]).toBe("no-referrer");
  await expect(page.getByTestId("app-name")).toHaveText("村级计生工作手册");
  expect(takeCspViolations()).toEqual([]);

  // An injected inline script is refused, and the refusal is seen.
  await page.evaluate(() => {
    const script = document.createElement("script");
    script.textContent = "window.__injected = true;";
    document.body.append(script);
  });
  await expect.poll(cspViolationCount).toBeGreaterThan(0);
  expect(await page.evaluate(() => (window as { __injected?: boolean }).__injected)).toBeUndefined();
  const seen = takeCspViolations();
  expect(seen.join("\n")).toContain("script-src");
});
