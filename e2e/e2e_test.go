package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// chromium is Debian's browser, installed by scripts/install-test-deps.sh.
const chromium = "/usr/bin/chromium"

// demoInfo is what the browser tests need from the demo's output.
type demoInfo struct {
	Base    string               `json:"base"`
	Links   map[string][]string  `json:"links"`   // state → a tracking link
	Signins map[string][2]string `json:"signins"` // app → user, password
}

var (
	listenRE = regexp.MustCompile(`listening on (http://\S+)`)
	linkRE   = regexp.MustCompile(`^(PX-\d+)\s+(\w+)\s+(http://\S+/track#pgr_\S+)$`)
	signinRE = regexp.MustCompile(`^(console|courier)\s+(\S+)\s+(\S+)$`)
)

// Ensure the recipient page, the console, the courier app and the
// locker's kiosk work in a real browser: main flows, failed sign-in, wrong code, keyboard-only use,
// valid HTML and no accessibility violations on every page.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Skipf("%s is missing: run `make deps` (scripts/install-test-deps.sh) to install Debian's chromium", chromium)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is missing: install Node.js to run the browser tests")
	}
	if _, err := os.Stat("node_modules/playwright-core"); err != nil {
		npm := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		npm.Stdout, npm.Stderr = os.Stderr, os.Stderr
		if err := npm.Run(); err != nil {
			t.Fatalf("npm ci: %v", err)
		}
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "parcelguard")
	build := exec.Command("go", "build", "-o", bin, "../cmd/parcelguard")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("build: %v", err)
	}
	// The demo's doorstep parcels are out for delivery today in central
	// Europe, with passwords that end at local midnight: a run that
	// crossed it would find them expired. The suite takes a minute or two.
	waitPastMidnight(t, "Europe/Warsaw", 3*time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	demo := exec.CommandContext(ctx, bin, "demo", "--listen", "127.0.0.1:0", "--data-dir", filepath.Join(dir, "data"),
		"--log-level", "warn")
	out, err := demo.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	demo.Stderr = os.Stderr
	if err := demo.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = demo.Process.Signal(os.Interrupt)
		_ = demo.Wait()
	}()
	info := readDemo(t, out)
	infoJSON, _ := json.Marshal(info)
	kioskJSON, _ := json.Marshal(startKiosk(t))
	artifacts, _ := filepath.Abs("artifacts")
	files := "tests/"
	if only := os.Getenv("PARCELGUARD_E2E_ONLY"); only != "" { // one file while working on it
		files = "tests/" + only
	}
	run := exec.CommandContext(ctx, node, "--test", "--test-concurrency=1", files)
	run.Env = append(os.Environ(), "PG_DEMO="+string(infoJSON), "PG_KIOSK="+string(kioskJSON), "PG_ARTIFACTS="+artifacts, "PG_CHROMIUM="+chromium)
	run.Stdout, run.Stderr = os.Stdout, os.Stderr
	if err := run.Run(); err != nil {
		t.Fatalf("browser tests failed: %v (screenshots in %s)", err, artifacts)
	}
}

// readDemo reads the demo's output up to its last line, then drains the
// rest in the background.
func readDemo(t *testing.T, r io.Reader) demoInfo {
	t.Helper()
	info := demoInfo{Links: map[string][]string{}, Signins: map[string][2]string{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if m := listenRE.FindStringSubmatch(line); m != nil {
			info.Base = m[1]
		}
		if m := linkRE.FindStringSubmatch(line); m != nil {
			info.Links[m[2]] = append(info.Links[m[2]], m[3])
		}
		if m := signinRE.FindStringSubmatch(line); m != nil {
			info.Signins[m[1]] = [2]string{m[2], m[3]}
		}
		if strings.HasPrefix(line, "Stop with Ctrl-C") {
			go func() { _, _ = io.Copy(io.Discard, r) }()
			if info.Base == "" || len(info.Links["deposited"]) < 4 {
				t.Fatalf("demo output lacks the address or a tracking link: %+v", info)
			}
			return info
		}
	}
	t.Fatalf("demo ended early: %v", sc.Err())
	return info
}

// waitPastMidnight waits until just after midnight in zone when that is
// less than margin away, so that what the demo seeds for today stays
// today's while the tests run.
func waitPastMidnight(t *testing.T, zone string, margin time.Duration) {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().In(loc)
	midnight := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, loc)
	if wait := midnight.Sub(now); wait < margin {
		t.Logf("waiting %v for midnight in %s: the demo's delivery passwords end then", wait.Round(time.Second), zone)
		time.Sleep(wait + 5*time.Second)
	}
}
