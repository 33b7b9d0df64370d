// The recipient's decisions (delegate codes, another locker, doorstep
// passwords and the date after a failed attempt), the courier's doorstep
// handover and broken-compartment report, and the console's outage
// switch, locker audit log, hotspots and doorstep reviews.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launch, newPage, check, tabTo, demo } from "../lib.js";

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function openLink(link, options) {
  const page = await newPage(browser, options);
  await page.goto(link);
  await page.waitForURL(demo.base + "/parcel");
  return page;
}

async function signIn(page, app) {
  const [user, password] = demo.signins[app];
  await page.goto(demo.base + "/" + app + "/signin");
  await page.getByLabel("User name").fill(user);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(demo.base + "/" + app + "/");
}

test("recipient: name a delegate, see them listed, withdraw the code", async () => {
  const page = await openLink(demo.links.deposited[2]);
  await page.getByLabel("Their name").fill("Charles Babbage");
  await page.getByLabel("Their mobile number").fill("+48 600 300 400");
  await check(page, "recipient-delegate-form");
  await page.getByRole("button", { name: "Send them a code" }).click();
  await page.waitForURL(/done=delegated/);
  assert.match(await page.getByRole("status").innerText(), /on its way/);
  assert.match(await page.locator("#delegates").innerText(), /Charles Babbage · active/);
  await check(page, "recipient-delegated");
  await page.getByRole("button", { name: /Withdraw the code of Charles Babbage/ }).click();
  await page.waitForURL(/done=revoked/);
  assert.match(await page.locator("#delegates").innerText(), /withdrawn/);
  await page.context().close();
});

test("recipient: choose another locker before the deposit, by keyboard", async () => {
  const page = await openLink(demo.links.reserved[0]);
  assert.match(await page.locator("fieldset").innerText(), /Warszawa Złote Tarasy/);
  await check(page, "recipient-redirect");
  await tabTo(page, "#site-0");
  await page.keyboard.press("Space");
  await tabTo(page, "#redirect");
  await page.keyboard.press("Enter");
  await page.waitForURL(/done=redirected/);
  assert.match(await page.getByRole("status").innerText(), /goes to the locker you chose/);
  assert.match(await page.locator("#locker-h + p").innerText(), /Złote Tarasy/);
  await check(page, "recipient-redirected");
  await page.context().close();
});

test("recipient: the delivery password on the day, a delegate password, the next date after a failed attempt", async () => {
  const page = await openLink(demo.links.out_for_delivery[0]);
  assert.match(await page.locator("#door-password").innerText(), /^\d{6}$/);
  await check(page, "recipient-doorstep");
  await page.getByLabel("Their name").fill("Ada's neighbour");
  await page.getByRole("button", { name: "Send them a code" }).click();
  await page.waitForURL(/done=delegated/);
  assert.match(await page.locator("#delegates").innerText(), /Ada's neighbour · active · password \d{6}/);
  await check(page, "recipient-doorstep-delegate");
  await page.context().close();

  const later = await openLink(demo.links.rescheduled[0], { locale: "pl-PL" });
  assert.equal(await later.getAttribute("html", "lang"), "pl");
  assert.match(await later.locator("#missed").innerText(), /nikogo nie było w domu/);
  assert.match(await later.locator("#door-date").innerText(), /\d{4}/);
  // The history holds the doorstep attempt from the carrier's stream.
  const history = await later.locator("ol.timeline").innerText();
  assert.match(history, /W doręczeniu/);
  assert.match(history, /Nieudana próba doręczenia: nikogo nie było w domu/);
  assert.match(history, /Nowa data doręczenia \d{4}-\d{2}-\d{2}/);
  await check(later, "recipient-doorstep-rescheduled");
  await later.context().close();
});

test("courier: doorstep handover in route order, wrong then right password, position from the browser", async () => {
  const recipient = await openLink(demo.links.out_for_delivery[1]);
  const password = (await recipient.locator("#door-password").innerText()).trim();
  await recipient.context().close();

  const page = await newPage(browser, { geolocation: { latitude: 52.2301, longitude: 21.0031 }, permissions: ["geolocation"] });
  await signIn(page, "courier");
  const route = await page.locator("#route").innerText();
  assert.ok(route.indexOf("PX-200001") < route.indexOf("PX-200002"), "route order");
  await page.getByRole("link", { name: "PX-200002" }).click();
  await check(page, "courier-doorstep");
  await page.getByRole("button", { name: "Use my location" }).click();
  await page.getByText("Location filled in.").waitFor();
  assert.equal(await page.getByLabel("Latitude").inputValue(), "52.230100");
  await page.getByLabel("Password the person at the door tells you").fill(password === "000000" ? "000001" : "000000");
  await page.getByRole("button", { name: "Confirm handover" }).click();
  assert.match(await page.getByRole("alert").innerText(), /Tries left today: 4/);
  await check(page, "courier-doorstep-wrong");
  // Typed position, keyboard only.
  await tabTo(page, "#lat");
  await page.keyboard.type("52.2300");
  await page.keyboard.press("Tab");
  await page.keyboard.type("21.0030");
  await tabTo(page, "#password");
  await page.keyboard.type(password);
  await page.keyboard.press("Enter");
  await page.waitForURL(/done=delivered/);
  assert.match(await page.getByRole("status").innerText(), /PX-200002 handed over/);
  await check(page, "courier-delivered");
  await page.context().close();
});

test("courier: report a broken compartment and get another", async () => {
  const page = await newPage(browser);
  await signIn(page, "courier");
  await page.getByLabel("Tracking number on the label").fill("PX-100008");
  await page.getByRole("button", { name: "Find parcel" }).click();
  const before = await page.locator("#compartment").innerText();
  await page.getByText("The compartment does not work").click();
  await page.getByLabel("What is wrong").fill("door does not open");
  await check(page, "courier-broken-form");
  await page.getByRole("button", { name: "Report it and get another compartment" }).click();
  await page.waitForURL(/done=replaced/);
  const after = await page.locator("#compartment").innerText();
  assert.notEqual(after, before);
  assert.match(await page.getByRole("status").innerText(), new RegExp("Use compartment " + after));
  await check(page, "courier-replaced");
  await page.context().close();
});

test("console: hotspots, doorstep reviews, out of service and a locker's audit log", async () => {
  const page = await newPage(browser, { viewport: { width: 1280, height: 900 } });
  await signIn(page, "console");
  await page.getByRole("link", { name: "Hotspots" }).click();
  assert.match(await page.locator("#door-hotspots").innerText(), /Złota 59/);
  await check(page, "console-hotspots");
  await page.getByRole("link", { name: "Doorstep reviews" }).click();
  assert.match(await page.locator("#mismatches").innerText(), /parcel state/);
  await check(page, "console-doorstep");

  await page.getByRole("link", { name: "Overview" }).click();
  await page.getByRole("link", { name: "Milano Centrale" }).click();
  await page.getByLabel("Why (shown to operators)").fill("glass broken");
  await page.getByRole("button", { name: "Take out of service" }).click();
  await page.waitForURL(/done=out/);
  assert.match(await page.locator("#service-state").innerText(), /Out of service/);
  await check(page, "console-out-of-service");
  await page.getByRole("link", { name: "Locker audit log" }).click();
  assert.match(await page.locator("#site-events").innerText(), /site.out_of_service/);
  await page.getByRole("button", { name: "Verify the audit chains" }).click();
  assert.match(await page.getByRole("status").innerText(), /chain is intact/);
  await check(page, "console-site-audit");
  await page.getByRole("link", { name: "Milano Centrale" }).click();
  await page.getByRole("button", { name: "Put back in service" }).click();
  await page.waitForURL(/done=in/);
  assert.match(await page.locator("#service-state").innerText(), /In service/);
  await page.context().close();
});
