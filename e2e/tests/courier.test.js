// The courier app on a phone: sign in, a wrong tracking number, the
// deposit flow (open a compartment, confirm) and collecting an expired
// parcel; keyboard-only too.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launch, newPage, check, tabTo, demo } from "../lib.js";

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });
const [user, password] = demo.signins.courier;

async function signIn(page) {
  await page.goto(demo.base + "/courier/");
  await page.waitForURL(/\/courier\/signin$/);
  await page.getByLabel("User name").fill(user);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(demo.base + "/courier/");
}

test("courier: failed sign-in, wrong tracking number, deposit and collect", async () => {
  const page = await newPage(browser);
  await page.goto(demo.base + "/courier/signin");
  await page.getByLabel("User name").fill(user);
  await page.getByLabel("Password").fill("wrong wrong wrong");
  await page.getByRole("button", { name: "Sign in" }).click();
  assert.match(await page.getByRole("alert").innerText(), /Wrong user name or password/);
  await check(page, "courier-signin-failed");

  await signIn(page);
  await check(page, "courier-today");
  await page.getByLabel("Tracking number on the label").fill("PX-999999");
  await page.getByRole("button", { name: "Find parcel" }).click();
  assert.match(await page.getByRole("alert").innerText(), /No parcel of your carrier/);
  await check(page, "courier-wrong-number");

  // An announced parcel: open a compartment, then confirm the deposit.
  await page.getByLabel("Tracking number on the label").fill("PX-100001");
  await page.getByRole("button", { name: "Find parcel" }).click();
  await check(page, "courier-parcel");
  await page.getByRole("button", { name: "Open a compartment" }).click();
  assert.match(await page.locator("#compartment").innerText(), /^A\d+$/);
  await check(page, "courier-reserved");
  await page.getByRole("button", { name: /Confirm: parcel is in/ }).click();
  assert.match(await page.getByRole("status").innerText(), /PX-100001 deposited/);

  // An expired parcel: collect it for return.
  const ret = page.locator("ul.returns a").first();
  await ret.click();
  await page.getByRole("button", { name: /collected for return/ }).click();
  assert.match(await page.getByRole("status").innerText(), /collected for return/);
  await check(page, "courier-collected");
  await page.context().close();
});

test("courier: keyboard only, from the sign-in to a parcel", async () => {
  const page = await newPage(browser);
  await page.goto(demo.base + "/courier/signin");
  await tabTo(page, "#username");
  await page.keyboard.type(user);
  await page.keyboard.press("Tab");
  await page.keyboard.type(password);
  await page.keyboard.press("Enter");
  await page.waitForURL(demo.base + "/courier/");
  await tabTo(page, "#tracking");
  await page.keyboard.type("PX-100007");
  await page.keyboard.press("Enter");
  await page.waitForURL(/\/courier\/parcels\//);
  await check(page, "courier-keyboard");
  await page.context().close();
});
