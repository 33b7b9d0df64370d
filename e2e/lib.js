// Shared helpers of the browser tests: launching Debian's Chromium, and
// checking every page for HTML validity (html-validate, on the HTML the
// server sent) and accessibility (axe-core, injected into the page), with
// a screenshot of each kept in artifacts/.
import { chromium } from "playwright-core";
import axe from "axe-core";
import { HtmlValidate } from "html-validate";
import { mkdirSync } from "node:fs";
import path from "node:path";
import assert from "node:assert/strict";

export const demo = JSON.parse(process.env.PG_DEMO || "{}");
// kiosk is the locker touchscreen the Go test serves: its address and
// parcels waiting in its locker (pin, phone digits, compartment label).
export const kiosk = JSON.parse(process.env.PG_KIOSK || "{}");
const artifacts = process.env.PG_ARTIFACTS || "artifacts";
mkdirSync(artifacts, { recursive: true });

// The flags keep Chromium from reaching out to the network and from
// needing a sandbox or a GPU in a container.
export async function launch() {
  return chromium.launch({
    executablePath: process.env.PG_CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

// newPage opens a page in a fresh context (its own cookies) that remembers
// the last HTML document the server sent, for validation.
export async function newPage(browser, options = {}) {
  const context = await browser.newContext({ locale: "en-GB", viewport: { width: 390, height: 844 }, ...options });
  const page = await context.newPage();
  page.lastDocument = null;
  page.on("response", (res) => {
    const req = res.request();
    if (req.resourceType() === "document" && req.frame() === page.mainFrame() && res.status() < 300 || res.status() >= 400 && req.resourceType() === "document") {
      page.lastDocument = res.text().catch(() => null);
    }
  });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  // A 401 or 403 page is an expected answer, not a script error.
  page.on("console", (m) => { if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) errors.push(m.text()); });
  page.jsErrors = errors;
  return page;
}

const validator = new HtmlValidate({
  extends: ["html-validate:recommended"],
  rules: {
    // Inline SVG QR codes use presentation attributes of their own.
    "no-inline-style": "error",
    "svg-focusable": "off",
    // Whitespace left by template actions is not a defect of the document.
    "no-trailing-whitespace": "off",
    // Text such as "24/7" or times is fine unescaped.
    "no-raw-characters": ["error", { relaxed: true }],
  },
});

// check validates the page's HTML, runs axe-core on it, and saves a
// screenshot as artifacts/<name>.png.
export async function check(page, name) {
  await page.waitForLoadState("load");
  await page.screenshot({ path: path.join(artifacts, name + ".png"), fullPage: true });
  const html = page.lastDocument ? await page.lastDocument : null;
  assert.ok(html, `${name}: no HTML document captured`);
  const report = await validator.validateString(html);
  const htmlProblems = report.valid ? [] : report.results.flatMap((r) => r.messages.map((m) => `${m.ruleId} line ${m.line}: ${m.message}`));
  assert.deepEqual(htmlProblems, [], `${name}: invalid HTML`);
  await page.evaluate(axe.source);
  const result = await page.evaluate(() =>
    // eslint-disable-next-line no-undef
    axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] } }));
  const violations = result.violations.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  assert.deepEqual(violations, [], `${name}: accessibility violations`);
  assert.deepEqual(page.jsErrors, [], `${name}: script errors`);
}

// tabTo presses Tab until the focused element matches selector, like a
// keyboard user; it fails after max presses.
export async function tabTo(page, selector, max = 40) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press("Tab");
    if (await page.evaluate((s) => document.activeElement && document.activeElement.matches(s), selector)) {
      return;
    }
  }
  assert.fail(`Tab never reached ${selector}`);
}
