// Package e2e runs the browser tests of the web apps: TestBrowser builds
// parcelguard, starts `parcelguard demo` on a free port and runs the
// Node.js tests in tests/ (playwright-core driving Debian's headless
// Chromium, axe-core and html-validate) against it. Screenshots land in
// artifacts/ (not committed).
package e2e
