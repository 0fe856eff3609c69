// A new version of the app installs in the background, waits, and takes
// over only when the worker taps "reload".
import { test, expect, waitForServiceWorker, requireEnv } from "./fixtures";

test("a new version waits for the user's tap, then replaces the old one", async ({ page, server }) => {
  const nextBuild = requireEnv("FIELDBOOK_NEXT_BUILD_ID");

  await page.goto(`${server.url}/settings`);
  await waitForServiceWorker(page);
  const firstBuild = (await page.getByTestId("build-id").textContent())!.trim();
  expect(firstBuild).not.toBe(nextBuild);
  await expect(page.getByTestId("update-banner")).toHaveCount(0);

  // Deploy the next version on the same address.
  await server.stop();
  await server.start(requireEnv("FIELDBOOK_DIST_NEXT"));

  await page.reload();
  const banner = page.getByTestId("update-banner");
  await expect(banner).toBeVisible();
  await expect(banner).toContainText("有新版本");
  await expect(page.getByTestId("update-reload")).toHaveText("重新加载");
  // Installed, but not in charge: the page still runs the old version, even
  // after another reload.
  await expect(page.getByTestId("build-id")).toHaveText(firstBuild);
  await page.reload();
  await expect(page.getByTestId("build-id")).toHaveText(firstBuild);
  await expect(banner).toBeVisible();

  await Promise.all([page.waitForEvent("framenavigated"), page.getByTestId("update-reload").tap()]);
  await expect(page.getByTestId("build-id")).toHaveText(nextBuild);
  await expect(page.getByTestId("update-banner")).toHaveCount(0);

  // The old version's cache is gone; the new one works offline.
  const caches = await page.evaluate(() => caches.keys());
  expect(caches.filter((name) => name.startsWith("fieldbook-shell-"))).toHaveLength(1);
  await server.stop();
  await page.reload();
  await expect(page.getByTestId("build-id")).toHaveText(nextBuild);
});
