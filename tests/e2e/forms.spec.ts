// Issue 14, items 3–5 at 360×640: the visit form knows the person and why
// the visit is due, asks before unsaved input is thrown away, records "not
// seen" attempts, says 未查 for the three checks; the person and household
// forms refuse a pregnancy without its date and a phone that is no phone
// number; the household page puts women of reproductive age first, calls
// with a tel: link, and opens history read-only with 更正.
import AxeBuilder from "@axe-core/playwright";
import { test, expect, type AppServer } from "./fixtures";
import type { Page } from "@playwright/test";

async function expectNoViolations(page: Page, screen: string) {
  const results = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"])
    .analyze();
  const summary = results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")}`);
  expect(summary, `axe violations on ${screen}`).toEqual([]);
}

/** A date `months` before today on the phone's calendar, as a date input
 * takes it. */
function monthsAgo(months: number): string {
  const d = new Date();
  d.setDate(1);
  d.setMonth(d.getMonth() - months);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** A new village with household 0101 in 三组: a boy of five added first,
 * then 张秀梅, married, with an IUD fitted three months ago. */
async function villageWithHousehold(page: Page, server: AppServer) {
  await page.goto(server.url);
  await expect(page.getByTestId("first-run")).toBeVisible();
  await page.getByTestId("village-name").fill("杨庄村");
  await page.getByText("篇二", { exact: false }).first().tap();
  await page.getByTestId("start").tap();
  await expect(page.getByTestId("nothing-due")).toBeVisible();

  await page.getByTestId("nav-households").tap();
  await page.getByTestId("add-household").tap();
  await page.getByTestId("number").fill("0101");
  await page.getByTestId("group").fill("三组");
  await page.getByTestId("address").fill("三组 5号");
  await page.getByTestId("phone").fill("138 0013 8000");
  await page.getByTestId("save-household").tap();
  await expect(page.getByTestId("household-page")).toBeVisible();

  await page.getByTestId("add-person").tap();
  await page.getByTestId("name").fill("李小宝");
  await page.getByTestId("sex-male").tap();
  await page.getByTestId("birth_date").fill(`${new Date().getFullYear() - 5}-01-15`);
  await page.getByTestId("save-person").tap();
  await expect(page.getByTestId("household-page")).toBeVisible();

  await page.getByTestId("add-person").tap();
  await page.getByTestId("name").fill("张秀梅");
  await page.getByTestId("birth_date").fill("1990-03-08");
  await page.getByTestId("marital").selectOption("first_marriage");
  await page.getByTestId("method").selectOption("iud");
  await page.getByTestId("contraception-start").fill(monthsAgo(3));
  await page.getByTestId("save-person").tap();
  await expect(page.getByTestId("household-page")).toBeVisible();
}

function woman(page: Page) {
  return page.getByTestId("member").filter({ hasText: "张秀梅" });
}

test("the visit form shows the household, her age and method, the last visit and why it is due", async ({ page, server }) => {
  await villageWithHousehold(page, server);
  await woman(page).getByTestId("record-visit").tap();
  await expect(page.getByTestId("visit-form")).toBeVisible();
  const context = page.getByTestId("visit-context");
  await expect(context.getByTestId("context-household")).toContainText("0101");
  await expect(context.getByTestId("context-household")).toContainText("三组");
  await expect(context.getByTestId("context-age")).toHaveText(/\d+ 岁/);
  await expect(context.getByTestId("context-method")).toContainText("宫内节育器");
  await expect(context.getByTestId("context-method")).toContainText("落实日期");
  await expect(context.getByTestId("context-last")).toHaveText("还没有");
  // The form opens with the kind a task asks for, and says which rule.
  await expect(context.getByTestId("context-why")).not.toHaveText("目前没有这类待办任务");
  await expect(context.getByTestId("context-why")).toContainText("月");
  await expectNoViolations(page, "visit form");

  // The three checks answer 是 / 否 / 未查; other questions keep 未问.
  await page.getByTestId("visit-kind").selectOption("three_checks");
  await expect(context.getByTestId("context-why")).toContainText("三查");
  await expect(page.getByTestId("ring-unset")).toHaveText("未查");
  await expect(page.getByTestId("pregnant-unset")).toHaveText("未查");
  await expect(page.getByTestId("condition-unset")).toHaveText("未查");
  await expect(page.getByTestId("satisfied-unset")).toHaveText("未问");
});

test("leaving a form with unsaved input asks first; staying keeps the input", async ({ page, server }) => {
  await villageWithHousehold(page, server);
  await woman(page).getByTestId("record-visit").tap();
  await expect(page.getByTestId("visit-form")).toBeVisible();
  await page.locator("#visit-notes").fill("下午再来");
  await page.getByTestId("nav-today").tap();
  await expect(page.getByTestId("leave-dialog")).toBeVisible();
  await expectNoViolations(page, "leave dialog");
  await page.getByTestId("leave-stay").tap();
  await expect(page.getByTestId("leave-dialog")).toHaveCount(0);
  await expect(page.getByTestId("visit-form")).toBeVisible();
  await expect(page.locator("#visit-notes")).toHaveValue("下午再来");

  // The dialog takes the focus on 继续填写; Escape stays as well.
  await page.getByTestId("nav-today").tap();
  await expect(page.getByTestId("leave-stay")).toBeFocused();
  await page.keyboard.press("Escape");
  await expect(page.getByTestId("leave-dialog")).toHaveCount(0);
  await expect(page.locator("#visit-notes")).toHaveValue("下午再来");

  await page.getByTestId("nav-today").tap();
  await page.getByTestId("leave-go").tap();
  await expect(page.getByTestId("page-today")).toBeVisible();

  // A form left untouched goes without a question.
  await page.getByTestId("nav-households").tap();
  await page.getByTestId("household-row").first().tap();
  await page.getByTestId("edit-household").tap();
  await expect(page.getByTestId("household-form")).toBeVisible();
  await page.getByTestId("nav-plan").tap();
  await expect(page.getByTestId("leave-dialog")).toHaveCount(0);
  await expect(page.getByTestId("household-form")).toHaveCount(0);

  // A reload or closing the tab: the browser's own question.
  await page.getByTestId("nav-households").tap();
  await page.getByTestId("household-row").first().tap();
  await page.getByTestId("edit-household").tap();
  await page.getByTestId("address").fill("三组 6号");
  let asked = "";
  page.on("dialog", async (dialog) => {
    asked = dialog.type();
    await dialog.dismiss();
  });
  await page.close({ runBeforeUnload: true });
  await expect.poll(() => asked).toBe("beforeunload");
});

test("a not-seen attempt saves without answers and shows in the history in words", async ({ page, server }) => {
  await villageWithHousehold(page, server);
  await woman(page).getByTestId("record-visit").tap();
  await expect(page.getByTestId("visit-form")).toBeVisible();
  await page.getByTestId("seen-no").tap();
  await page.getByTestId("reason-not_home").tap();
  await expect(page.getByTestId("come-back")).not.toHaveValue("");
  await expect(page.getByTestId("satisfied-yes")).toBeHidden();
  await expect(page.getByTestId("next-visit")).toBeHidden();
  await page.getByTestId("save-visit").tap();
  // Back where she came from: the household page.
  await expect(page.getByTestId("household-page")).toBeVisible();
  await woman(page).getByTestId("history-toggle").tap();
  const outcome = woman(page).getByTestId("visit-outcome").first();
  await expect(outcome).toContainText("未见到：不在家，约");
  await expect(outcome).toContainText("再访");
  // The task stays open: the form still says why it is due.
  await woman(page).getByTestId("record-visit").tap();
  await expect(page.getByTestId("context-why")).not.toHaveText("目前没有这类待办任务");
  await expect(page.getByTestId("context-last")).toContainText("未见到：不在家");
});

test("a pregnancy without its date is refused with the field's message, keeping the input", async ({ page, server }) => {
  await villageWithHousehold(page, server);
  await woman(page).getByTestId("edit-person").tap();
  await page.getByTestId("pregnancy").selectOption("pregnant");
  await page.getByTestId("save-person").tap();
  await expect(page.getByTestId("pregnancy-error")).toHaveText("请填写末次月经日期");
  await expect(page.getByTestId("person-form")).toBeVisible();
  await expect(page.getByTestId("pregnancy")).toHaveValue("pregnant");
  await page.getByTestId("pregnancy").selectOption("delivered");
  await page.getByTestId("save-person").tap();
  await expect(page.getByTestId("pregnancy-error")).toHaveText("请填写分娩日期");
  await page.getByTestId("pregnancy").selectOption("pregnant");
  await page.getByTestId("pregnancy-date").fill(monthsAgo(2));
  await page.getByTestId("save-person").tap();
  await expect(page.getByTestId("household-page")).toBeVisible();
  await expect(woman(page).getByTestId("record-visit")).toBeVisible();
});

test("a phone number that is no phone number is refused, naming the field", async ({ page, server }) => {
  await villageWithHousehold(page, server);
  await page.getByTestId("edit-household").tap();
  await page.getByTestId("phone").fill("abc");
  await page.getByTestId("save-household").tap();
  await expect(page.getByTestId("phone-error")).toContainText("电话号码");
  await expect(page.getByTestId("household-form")).toBeVisible();
  await page.getByTestId("phone").fill("0571-88886666");
  await page.getByTestId("save-household").tap();
  await expect(page.getByTestId("household-page")).toBeVisible();

  await woman(page).getByTestId("edit-person").tap();
  await page.getByTestId("phone").fill("12ab");
  await page.getByTestId("save-person").tap();
  await expect(page.getByTestId("phone-error")).toContainText("电话号码");
  await expect(page.getByTestId("person-form")).toBeVisible();
});

test("the migrant place is labelled by the living status", async ({ page, server }) => {
  await villageWithHousehold(page, server);
  await woman(page).getByTestId("edit-person").tap();
  await page.getByTestId("living").selectOption("out");
  await expect(page.locator("label[for=field-living-place]")).toHaveText("流入地 *");
  await page.getByTestId("living").selectOption("in");
  await expect(page.locator("label[for=field-living-place]")).toHaveText("户籍地 *");
});

test("the household page: women first with a status line, a call link, visits only where they apply, history read-only with 更正", async ({ page, server }) => {
  await villageWithHousehold(page, server);
  const members = page.getByTestId("member");
  await expect(members.first()).toContainText("张秀梅");
  await expect(members.first().getByTestId("status-line")).toContainText("宫内节育器");
  await expect(members.first().getByTestId("status-line")).toContainText("上次三查：未查过");
  await expect(members.first().getByTestId("open-tasks")).toContainText("待办");
  await expect(page.getByTestId("household-address")).toHaveText("三组 5号");
  await expect(page.getByTestId("household-phone")).toHaveAttribute("href", "tel:13800138000");
  const boy = members.filter({ hasText: "李小宝" });
  await expect(boy).toBeVisible();
  await expect(boy.getByTestId("record-visit")).toHaveCount(0);

  // A visit, then its history row opens read-only.
  await woman(page).getByTestId("record-visit").tap();
  await page.getByTestId("visit-kind").selectOption("three_checks");
  await page.getByTestId("ring-yes").tap();
  await page.getByTestId("pregnant-no").tap();
  await page.getByTestId("save-visit").tap();
  await expect(page.getByTestId("household-page")).toBeVisible();
  await expect(woman(page).getByTestId("status-line")).not.toContainText("未查过");
  await woman(page).getByTestId("history-toggle").tap();
  const row = woman(page).getByTestId("visit-link").first();
  await expect(row).toContainText("三查");
  await expect(row).toContainText("查环：是；查孕：否；查病：未查");
  const box = await row.boundingBox();
  expect(box!.height).toBeGreaterThanOrEqual(44);
  await expectNoViolations(page, "household page");

  await row.tap();
  await expect(page.getByTestId("visit-record")).toBeVisible();
  await expect(page.getByTestId("visit-form")).toHaveCount(0);
  await expect(page.getByTestId("record-outcome")).toContainText("查环：是");
  await expectNoViolations(page, "visit record");
  await page.getByTestId("correct-visit").tap();
  await expect(page.getByTestId("visit-form")).toBeVisible();
  await expect(page.getByTestId("visit-title")).toHaveText("更正随访记录");
  await expect(page.getByTestId("ring-yes")).toHaveAttribute("aria-pressed", "true");
});
