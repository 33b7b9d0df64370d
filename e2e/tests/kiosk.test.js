// The locker's touchscreen (kiosk): a wrong code and its message, a
// pickup by PIN and phone digits, a keyboard-only pickup, and the pages in
// another language; every page valid and accessible.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launch, newPage, check, tabTo, kiosk } from "../lib.js";

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

// A kiosk is a landscape touchscreen.
const screen = { viewport: { width: 1024, height: 768 } };

test("kiosk: wrong code, then pick up with PIN and phone digits", async () => {
  const page = await newPage(browser, screen);
  await page.goto(kiosk.base + "/");
  await page.waitForURL(kiosk.base + "/en/");
  assert.ok(await page.getByRole("heading", { name: "Pick up a parcel" }).isVisible());
  await check(page, "kiosk-start");

  const [parcel] = kiosk.parcels;
  const wrong = parcel.pin === "000000" ? "000001" : "000000";
  await page.getByLabel("Pickup code (6 digits)").fill(wrong);
  await page.getByLabel("Last 4 digits of your phone number").fill(parcel.phone);
  await page.getByRole("button", { name: "Open compartment" }).click();
  assert.match(await page.getByRole("alert").innerText(), /The code was not accepted/);
  // The code never lands in the address bar.
  assert.ok(!page.url().includes(wrong));
  await check(page, "kiosk-wrong-code");

  await page.getByLabel("Pickup code (6 digits)").fill(parcel.pin);
  await page.getByLabel("Last 4 digits of your phone number").fill(parcel.phone);
  await page.getByRole("button", { name: "Open compartment" }).click();
  assert.match(await page.getByRole("status").innerText(), new RegExp(`Compartment ${parcel.label} is open`));
  assert.ok(!page.url().includes(parcel.pin));
  await check(page, "kiosk-opened");

  // The same code does not open it twice.
  await page.getByRole("link", { name: "Back to the start" }).click();
  await page.getByLabel("Pickup code (6 digits)").fill(parcel.pin);
  await page.getByLabel("Last 4 digits of your phone number").fill(parcel.phone);
  await page.getByRole("button", { name: "Open compartment" }).click();
  assert.match(await page.getByRole("alert").innerText(), /The code was not accepted/);
  await page.context().close();
});

test("kiosk: keyboard-only pickup", async () => {
  const page = await newPage(browser, screen);
  await page.goto(kiosk.base + "/en/");
  const parcel = kiosk.parcels[1];
  await tabTo(page, "#pin");
  await page.keyboard.type(parcel.pin);
  await page.keyboard.press("Tab");
  await page.keyboard.type(parcel.phone);
  await page.keyboard.press("Enter");
  await page.waitForURL(kiosk.base + "/en/pin");
  assert.match(await page.getByRole("status").innerText(), new RegExp(`Compartment ${parcel.label} is open`));
  // The result's one action has the focus: Enter goes back to the start.
  assert.ok(await page.evaluate(() => document.activeElement?.matches("a.button")));
  await check(page, "kiosk-keyboard");
  await page.keyboard.press("Enter");
  await page.waitForURL(kiosk.base + "/en/");
  await page.context().close();
});

test("kiosk: pages in German, Italian and Polish", async () => {
  const page = await newPage(browser, screen);
  for (const lang of ["de", "it", "pl"]) {
    await page.goto(kiosk.base + "/en/");
    await page.getByRole("link", { name: { de: "Deutsch", it: "Italiano", pl: "Polski" }[lang] }).click();
    await page.waitForURL(kiosk.base + `/${lang}/`);
    assert.equal(await page.getAttribute("html", "lang"), lang);
    await check(page, `kiosk-start-${lang}`);
  }
  await page.context().close();
});
