// The on-device lock: turned on with a PIN (and the account password, so
// the server keeps a recovery key), the lock screen at every start, a wrong
// PIN refused and then rate-limited, the right PIN unlocking with the server
// gone, nothing of a person readable in IndexedDB or localStorage, a
// forgotten PIN recovered by signing in, and the lock after idle time.
import { test, expect, waitForServiceWorker, type AppServer } from "./fixtures";
import type { Page } from "@playwright/test";

const PASSWORD = "correct horse battery";
const PIN = "135790";
const NAME = "张秀梅";

function setUpVillage(server: AppServer) {
  const village = server.admin(["village", "add", "--name", "王庄村", "--township", "石桥镇"]);
  server.admin(["user", "add", "wang", "--role", "worker", "--village", village], PASSWORD);
}

/** Every IndexedDB store's values as JSON, with sealed bytes decoded as
 * UTF-8 text: a name kept in plaintext anywhere would show. */
async function rawDatabase(page: Page): Promise<Record<string, string>> {
  return page.evaluate(async () => {
    const db: IDBDatabase = await new Promise((resolve, reject) => {
      const req = indexedDB.open("fieldbook");
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    const out: Record<string, string> = {};
    for (const name of Array.from(db.objectStoreNames)) {
      const values: unknown[] = await new Promise((resolve, reject) => {
        const req = db.transaction(name).objectStore(name).getAll();
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
      out[name] = JSON.stringify(values, (_key, value) =>
        value instanceof Uint8Array ? new TextDecoder().decode(value) : value,
      );
    }
    db.close();
    return out;
  });
}

async function localStorageText(page: Page): Promise<string> {
  return page.evaluate(() => JSON.stringify({ ...localStorage }));
}

async function unlock(page: Page, pin: string) {
  // The last attempt has finished (the button is disabled while one runs).
  await expect(page.getByTestId("lock-unlock")).toBeEnabled({ timeout: 30_000 });
  await page.getByTestId("lock-pin").fill(pin);
  await page.getByTestId("lock-unlock").tap();
}

async function expectHousehold(page: Page) {
  await page.getByTestId("nav-households").tap();
  await page.getByTestId("household-row").filter({ hasText: "0008" }).tap();
  await expect(page.getByTestId("member")).toContainText(NAME);
}

test("the lock: PIN at start, wrong PINs refused and rate-limited, offline unlock, nothing readable, a forgotten PIN recovered", async ({
  page,
  server,
}) => {
  test.setTimeout(240_000);
  setUpVillage(server);
  await page.goto(server.url);
  await expect(page.getByTestId("first-run")).toBeVisible();
  await page.getByTestId("username").fill("wang");
  await page.getByTestId("password").fill(PASSWORD);
  await page.getByTestId("login").tap();
  await expect(page.getByTestId("first-run")).toHaveCount(0, { timeout: 60_000 });

  // A household and a person with a name.
  await page.getByTestId("nav-households").tap();
  await page.getByTestId("add-household").tap();
  await page.getByTestId("number").fill("0008");
  await page.getByTestId("save-household").tap();
  await page.getByTestId("add-person").tap();
  await page.getByTestId("name").fill(NAME);
  await page.getByTestId("birth_date").fill("1990-03-08");
  await page.getByTestId("marital").selectOption("first_marriage");
  await page.getByTestId("save-person").tap();
  await expect(page.getByTestId("member")).toContainText(NAME);
  await page.getByTestId("nav-today").tap();
  await expect(page.getByTestId("tasks-due")).toContainText(NAME);
  expect(Object.values(await rawDatabase(page)).join("\n")).toContain(NAME);

  // 设置 → 本机加密: the PIN rule is a field message; then the lock goes on.
  await page.getByTestId("nav-settings").tap();
  await expect(page.getByTestId("lock-status")).toHaveText("未开启");
  // The screen says what a short PIN is worth against a copied phone.
  await expect(page.getByTestId("lock-pin-advice")).toContainText("至少 8 个字符");
  await page.getByTestId("lock-new-pin").fill("1357");
  await page.getByTestId("lock-repeat-pin").fill("1357");
  await page.getByTestId("lock-turn-on").tap();
  await expect(page.getByTestId("lock-pin-error")).toContainText("至少 6 位数字");
  await page.getByTestId("lock-new-pin").fill(PIN);
  await page.getByTestId("lock-repeat-pin").fill(PIN);
  await page.getByTestId("lock-account-password").fill(PASSWORD);
  await page.getByTestId("lock-turn-on").tap();
  await expect(page.getByTestId("lock-status")).toHaveText("已开启", { timeout: 60_000 });
  await expect(page.getByTestId("lock-pin-error")).toHaveCount(0);

  // Nothing of the person is readable in any store, nor in localStorage
  // (no kept Today list, no session token in plaintext).
  const raw = await rawDatabase(page);
  expect(Object.keys(raw)).toEqual(expect.arrayContaining(["persons", "outbox", "states", "meta"]));
  for (const [store, text] of Object.entries(raw)) {
    expect(text, `a name readable in ${store}`).not.toContain(NAME);
  }
  const local = await localStorageText(page);
  expect(local).not.toContain(NAME);
  expect(await page.evaluate(() => localStorage.getItem("fieldbook.session"))).toBeNull();

  // The server gone: the reload shows the lock screen, the right PIN opens
  // the records offline.
  await waitForServiceWorker(page);
  await server.stop();
  await page.reload();
  await expect(page.getByTestId("lock-screen")).toBeVisible();
  await expect(page.getByTestId("nav-settings")).toHaveCount(0);
  await unlock(page, PIN);
  await expect(page.getByTestId("lock-screen")).toHaveCount(0, { timeout: 30_000 });
  await expectHousehold(page);

  // Locked again: a wrong PIN is refused; the fifth in a row makes the next
  // attempt wait 30 s, and even the right PIN is not tried meanwhile.
  await page.getByTestId("nav-settings").tap();
  await page.getByTestId("lock-now").tap();
  await expect(page.getByTestId("lock-screen")).toBeVisible();
  await unlock(page, "000000");
  await expect(page.getByTestId("lock-message")).toHaveText("密码不对，请再试一次。");
  for (let i = 0; i < 4; i++) {
    await unlock(page, `00000${i + 1}`);
    await expect(page.getByTestId("lock-unlock")).toBeEnabled();
  }
  await expect(page.getByTestId("lock-message")).toContainText("请等待 30 秒后再试");
  await unlock(page, PIN);
  await expect(page.getByTestId("lock-message")).toContainText(/请等待 (29|30) 秒后再试/);
  await expect(page.getByTestId("lock-screen")).toBeVisible();
  // A reload does not reset the count.
  await page.reload();
  await unlock(page, PIN);
  await expect(page.getByTestId("lock-message")).toContainText("请等待");

  // Forgotten PIN: online again, sign in with the account password, set a
  // new PIN; the records are back.
  await server.start();
  await page.getByTestId("lock-forgot").tap();
  await expect(page.getByTestId("recover-username")).toHaveValue("wang");
  await page.getByTestId("recover-password").fill("wrong password");
  await page.getByTestId("recover-submit").tap();
  await expect(page.getByTestId("lock-message")).toContainText("找回失败");
  await page.getByTestId("recover-password").fill(PASSWORD);
  await page.getByTestId("recover-submit").tap();
  await expect(page.getByTestId("new-pin-form")).toBeVisible({ timeout: 30_000 });
  await page.getByTestId("recover-new-pin").fill("24680246");
  await page.getByTestId("recover-repeat-pin").fill("24680246");
  await page.getByTestId("recover-save-pin").tap();
  await expect(page.getByTestId("lock-screen")).toHaveCount(0, { timeout: 30_000 });
  await expectHousehold(page);
  expect(await page.evaluate(() => localStorage.getItem("fieldbook.session"))).toBeNull();

  // The new PIN opens the phone after a reload; the old one no longer does.
  await page.reload();
  await unlock(page, PIN);
  await expect(page.getByTestId("lock-message")).toHaveText("密码不对，请再试一次。");
  await unlock(page, "24680246");
  await expect(page.getByTestId("lock-screen")).toHaveCount(0, { timeout: 30_000 });
  await expectHousehold(page);
});

test("the phone locks itself after the idle time, and the lock can be turned off", async ({ page, server }) => {
  test.setTimeout(180_000);
  await page.goto(server.url);
  await expect(page.getByTestId("first-run")).toBeVisible();
  await page.getByTestId("village-name").fill("杨庄村");
  await page.getByText("篇二", { exact: false }).first().tap();
  await page.getByTestId("start").tap();
  await expect(page.getByTestId("nothing-due")).toBeVisible();

  // Not signed in: turning the lock on warns that a forgotten PIN cannot be
  // recovered.
  await page.getByTestId("nav-settings").tap();
  await expect(page.getByTestId("lock-not-signed-in")).toBeVisible();
  await page.getByTestId("lock-new-pin").fill("a long password");
  await page.getByTestId("lock-repeat-pin").fill("a long password");
  await page.getByTestId("lock-turn-on").tap();
  await expect(page.getByTestId("lock-status")).toHaveText("已开启", { timeout: 60_000 });
  await expect(page.getByTestId("lock-idle")).toHaveValue("5");

  // A short idle time (the setting's value, seconds) for the test.
  await page.evaluate(() => localStorage.setItem("fieldbook.lock.idle_seconds", "3"));
  await expect(page.getByTestId("lock-screen")).toBeVisible({ timeout: 15_000 });
  await page.getByTestId("lock-forgot").tap();
  await expect(page.getByTestId("lock-no-recovery")).toBeVisible();
  await page.getByRole("button", { name: "取消" }).tap();
  await page.evaluate(() => localStorage.setItem("fieldbook.lock.idle_seconds", "300"));
  await unlock(page, "a long password");
  await expect(page.getByTestId("lock-screen")).toHaveCount(0, { timeout: 30_000 });

  // Turned off with the PIN: the records are plaintext again and no lock
  // screen comes at the next start.
  await page.getByTestId("nav-settings").tap();
  await page.getByTestId("lock-current-pin").fill("a long password");
  await page.getByTestId("lock-turn-off").tap();
  await expect(page.getByTestId("lock-status")).toHaveText("未开启", { timeout: 60_000 });
  expect((await rawDatabase(page)).villages).toContain("杨庄村");
  await page.goto(server.url);
  await expect(page.getByTestId("nothing-due")).toBeVisible();
  await expect(page.getByTestId("lock-screen")).toHaveCount(0);
});
