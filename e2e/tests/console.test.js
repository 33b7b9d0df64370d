// The operator console: failed and successful sign-in, overview, blocking
// a compartment, parcel search, audit verification, returns, mailbox,
// sign-out, and a keyboard-only sign-in.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launch, newPage, check, tabTo, demo } from "../lib.js";

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });
const [user, password] = demo.signins.console;

test("console: wrong password, then sign in and walk every screen", async () => {
  const page = await newPage(browser, { viewport: { width: 1280, height: 900 } });
  await page.goto(demo.base + "/console/");
  await page.waitForURL(/\/console\/signin$/);
  await check(page, "console-signin");
  await page.getByLabel("User name").fill(user);
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Sign in" }).click();
  assert.match(await page.getByRole("alert").innerText(), /Wrong user name or password/);
  await check(page, "console-signin-failed");

  await page.getByLabel("User name").fill(user);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(demo.base + "/console/");
  const session = (await page.context().cookies()).find((c) => c.name === "pg_session");
  assert.ok(session && session.httpOnly && session.secure && session.sameSite === "Strict");
  assert.ok(await page.getByRole("link", { name: "Warszawa Centralna" }).isVisible());
  await check(page, "console-overview");

  await page.getByRole("link", { name: "Warszawa Centralna" }).click();
  await check(page, "console-site");
  await page.getByRole("button", { name: /^Block compartment/ }).first().click();
  assert.match(await page.getByRole("status").innerText(), /is blocked/);
  await page.getByRole("button", { name: /^Unblock compartment/ }).first().click();
  assert.match(await page.getByRole("status").innerText(), /free again/);

  await page.getByRole("link", { name: "Parcels" }).click();
  await page.getByLabel("Tracking number").fill("PX-100003");
  await page.getByRole("button", { name: "Search" }).click();
  await check(page, "console-search");
  await page.getByRole("link", { name: "PX-100003" }).click();
  assert.ok(await page.getByText("parcel.deposited").first().isVisible());
  await check(page, "console-parcel-audit");
  await page.getByRole("button", { name: "Verify the audit chains" }).click();
  assert.match(await page.getByRole("status").innerText(), /are intact/);
  await check(page, "console-verified");

  await page.getByRole("link", { name: "Returns" }).click();
  await check(page, "console-returns");
  await page.getByRole("link", { name: "Mailbox" }).click();
  await check(page, "console-mailbox");

  await page.getByRole("button", { name: /Sign out/ }).click();
  await page.waitForURL(/signin/);
  await page.goto(demo.base + "/console/returns");
  await page.waitForURL(/\/console\/signin$/);
  await page.context().close();
});

test("console: keyboard-only sign-in", async () => {
  const page = await newPage(browser);
  await page.goto(demo.base + "/console/signin");
  await tabTo(page, "#username");
  await page.keyboard.type(user);
  await page.keyboard.press("Tab");
  await page.keyboard.type(password);
  await page.keyboard.press("Enter");
  await page.waitForURL(demo.base + "/console/");
  await tabTo(page, "a[href^='/console/sites/']");
  await page.keyboard.press("Enter");
  await page.waitForURL(/\/console\/sites\//);
  await check(page, "console-keyboard");
  await page.context().close();
});

test("console: add a courier with a generated password, then disable and enable it", async () => {
  const page = await newPage(browser, { viewport: { width: 1280, height: 900 } });
  await page.goto(demo.base + "/console/signin");
  await page.getByLabel("User name").fill(user);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(demo.base + "/console/");
  await page.getByRole("link", { name: "Accounts" }).click();
  await check(page, "console-accounts");

  // A taken name is explained at its field.
  await page.getByLabel("User name").fill(user);
  await page.getByRole("button", { name: "Add the account" }).click();
  assert.match(await page.getByRole("alert").innerText(), /is taken/);
  assert.equal(await page.getByLabel("User name").getAttribute("aria-invalid"), "true");
  await check(page, "console-accounts-taken");

  const name = "e2e.courier";
  await page.getByLabel("User name").fill(name);
  await page.getByLabel("Name", { exact: true }).fill("Erika Kurier");
  await page.getByLabel("Role").selectOption("courier");
  await page.getByLabel(/^Carrier/).selectOption({ index: 1 });
  await page.getByRole("button", { name: "Add the account" }).click();
  assert.match(await page.getByRole("status").innerText(), /was added/);
  const generated = (await page.locator("#generated-password").innerText()).trim();
  assert.ok(generated.length >= 20);
  await check(page, "console-accounts-created");

  // The courier signs in with it in a browser of their own.
  const phone = await newPage(browser);
  await phone.goto(demo.base + "/courier/signin");
  await phone.getByLabel("User name").fill(name);
  await phone.getByLabel("Password").fill(generated);
  await phone.getByRole("button", { name: "Sign in" }).click();
  await phone.waitForURL(demo.base + "/courier/");

  // Disabling signs them out at once; enabling lets them in again.
  await page.getByRole("link", { name: "Accounts" }).click();
  await page.getByRole("button", { name: `Disable the account ${name}` }).click();
  assert.match(await page.getByRole("status").innerText(), /is disabled/);
  await check(page, "console-accounts-disabled");
  await phone.reload();
  await phone.waitForURL(/\/courier\/signin$/);
  await page.getByRole("button", { name: `Enable the account ${name}` }).click();
  assert.match(await page.getByRole("status").innerText(), /can sign in again/);
  await phone.getByLabel("User name").fill(name);
  await phone.getByLabel("Password").fill(generated);
  await phone.getByRole("button", { name: "Sign in" }).click();
  await phone.waitForURL(demo.base + "/courier/");
  await phone.context().close();
  await page.context().close();
});
