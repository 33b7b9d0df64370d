// The recipient's tracking page: magic link exchange, code, deadline,
// extension, a wrong link, a keyboard-only pass, and the language.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launch, newPage, check, tabTo, demo } from "../lib.js";

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test("a magic link opens the parcel page on a clean URL with the PIN", async () => {
  const page = await newPage(browser);
  await page.goto(demo.links.deposited[0]);
  await page.waitForURL(demo.base + "/parcel");
  assert.equal(page.url(), demo.base + "/parcel", "token must leave the URL");
  const history = await page.evaluate(() => window.location.href);
  assert.ok(!history.includes("pgr_"));
  assert.match(await page.locator("#pin").innerText(), /^\d{6}$/);
  assert.ok(await page.locator(".qr svg").isVisible());
  assert.match(await page.locator("#countdown").innerText(), /\d/);
  const cookie = (await page.context().cookies()).find((c) => c.name === "pg_track");
  assert.ok(cookie && cookie.httpOnly && cookie.sameSite === "Strict" && cookie.secure, "tracking cookie flags");
  await check(page, "recipient-parcel");

  await page.getByRole("button", { name: /Extend the deadline/ }).click();
  await page.waitForURL(/done=extended/);
  assert.match(await page.getByRole("status").innerText(), /24 more hours/);
  assert.equal(await page.getByRole("button", { name: /Extend the deadline/ }).count(), 0);
  await check(page, "recipient-extended");
  await page.context().close();
});

test("a wrong or incomplete link is refused without a cookie", async () => {
  const page = await newPage(browser);
  await page.goto(demo.base + "/track#pgr_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
  await page.getByRole("alert").waitFor();
  assert.match(await page.getByRole("alert").innerText(), /not valid or has expired/);
  assert.ok(!(await page.context().cookies()).some((c) => c.name === "pg_track"));
  await check(page, "recipient-wrong-link");

  await page.goto(demo.base + "/track");
  await page.getByRole("alert").waitFor();
  assert.match(await page.getByRole("alert").innerText(), /incomplete/);
  await check(page, "recipient-no-token");

  await page.goto(demo.base + "/parcel");
  assert.match(await page.getByRole("alert").innerText(), /session has ended/);
  await page.context().close();
});

test("keyboard only: skip link, then extend the deadline with Enter", async () => {
  const page = await newPage(browser);
  await page.goto(demo.links.deposited[1]);
  await page.waitForURL(demo.base + "/parcel");
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.className), "skip");
  await page.keyboard.press("Enter");
  await tabTo(page, "#extend");
  await page.keyboard.press("Enter");
  await page.waitForURL(/done=extended|\/parcel$/);
  await check(page, "recipient-keyboard");
  await page.context().close();
});

test("the page speaks the browser's language and the switcher changes it", async () => {
  const page = await newPage(browser, { locale: "de-DE" });
  await page.goto(demo.links.deposited[1]);
  await page.waitForURL(demo.base + "/parcel");
  assert.equal(await page.getAttribute("html", "lang"), "de");
  assert.ok(await page.getByRole("heading", { name: "Ihr Abholcode" }).isVisible());
  await page.getByRole("link", { name: "Polski" }).click();
  assert.equal(await page.getAttribute("html", "lang"), "pl");
  assert.ok(await page.getByRole("heading", { name: "Twój kod odbioru" }).isVisible());
  await check(page, "recipient-pl");
  await page.context().close();
});
