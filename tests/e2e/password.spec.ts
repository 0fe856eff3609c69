// The account password (issue 13): after an administrator's reset the app
// asks for the worker's own password right after sign-in, with an error
// beside each field, and syncs only once she has chosen one; the same form
// in 设置 changes it again and signs her other phones out.
import AxeBuilder from "@axe-core/playwright";
import { test, expect, type AppServer } from "./fixtures";
import type { Browser, Page } from "@playwright/test";
import { PHONE } from "./browser";

const PASSWORD = "correct horse battery";
const RESET = "set by the administrator";
const OWN = "wang's own password";

function setUpVillage(server: AppServer) {
  const village = server.admin(["village", "add", "--name", "王庄村", "--township", "石桥镇"]);
  server.admin(["user", "add", "wang", "--role", "worker", "--village", village], PASSWORD);
}

async function newPhone(browser: Browser): Promise<Page> {
  const context = await browser.newContext({ ...PHONE });
  return context.newPage();
}

async function signIn(phone: Page, server: AppServer, password: string) {
  await phone.goto(server.url);
  await expect(phone.getByTestId("first-run")).toBeVisible();
  await phone.getByTestId("username").fill("wang");
  await phone.getByTestId("password").fill(password);
  await phone.getByTestId("login").tap();
}

async function fillForm(phone: Page, current: string, next: string, again: string) {
  const form = phone.getByTestId("change-password");
  await form.getByTestId("current-password").fill(current);
  await form.getByTestId("new-password").fill(next);
  await form.getByTestId("new-password-again").fill(again);
  await form.getByTestId("change-password-submit").tap();
}

test("after a reset the app asks for her own password before it syncs", async ({ server, browser }) => {
  setUpVillage(server);
  server.admin(["user", "reset-password", "wang"], RESET);
  const phone = await newPhone(browser);
  await signIn(phone, server, RESET);

  // Right after sign-in: the form, with the reason, on the first-run screen.
  const form = phone.getByTestId("change-password");
  await expect(phone.getByTestId("must-change-password")).toBeVisible();
  await expect(phone.getByTestId("must-change-password")).toContainText("管理员已重置你的密码");
  const axe = await new AxeBuilder({ page: phone }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  expect(axe.violations.map((v) => v.id), "axe on the must-change form").toEqual([]);

  // Each field says what is wrong with it.
  await fillForm(phone, RESET, "woaini1314", "woaini1314");
  await expect(form.locator(".field-error").first()).toContainText("这个密码太常见");
  await fillForm(phone, RESET, OWN, "something else");
  await expect(form.locator(".field-error").first()).toContainText("两次输入的新密码不一样");
  await fillForm(phone, "not the password", OWN, OWN);
  await expect(form.locator(".field-error").first()).toContainText("当前密码不对");

  // The right current password: changed, then the first sync brings the village.
  await fillForm(phone, RESET, OWN, OWN);
  await expect(phone.getByTestId("page-today")).toBeVisible({ timeout: 60_000 });
  await phone.getByTestId("nav-settings").tap();
  await expect(phone.getByTestId("signed-in")).toContainText("wang");
  await expect(phone.getByTestId("must-change-password")).toHaveCount(0);
});

test("changing the password in 设置 signs her other phone out", async ({ server, browser }) => {
  setUpVillage(server);
  const phone = await newPhone(browser);
  const tablet = await newPhone(browser);
  for (const p of [phone, tablet]) {
    await signIn(p, server, PASSWORD);
    await expect(p.getByTestId("page-today")).toBeVisible({ timeout: 60_000 });
  }
  await phone.getByTestId("nav-settings").tap();
  await fillForm(phone, PASSWORD, OWN, OWN);
  await expect(phone.getByTestId("password-changed")).toBeVisible();

  // The tablet's next sync finds its session ended.
  await tablet.getByTestId("nav-settings").tap();
  await tablet.getByTestId("sync-now").tap();
  await expect(tablet.getByTestId("sync-error")).toContainText("登录已过期");
  // The phone goes on syncing.
  await phone.getByTestId("sync-now").tap();
  await expect(phone.getByTestId("sync-now")).toBeEnabled({ timeout: 60_000 });
  expect(await phone.getByTestId("sync-error").allTextContents()).toEqual([]);
});
