package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/code"
	"github.com/parcelguard/parcelguard/service"
	"github.com/parcelguard/parcelguard/sqlite"
)

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a server.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func noEnv(string) string { return "" }

// runCLI runs the program in-process and returns its stdout.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, noEnv, &out, &errOut)
	return out.String(), err
}

// Ensure the real program runs the whole locker lifecycle: an admin key
// from the CLI, serve on a free port, the API end to end, the audit chain
// verified by the CLI — and tampering makes it exit 1. No code reaches the
// logs or the database files.
func TestServeEndToEnd(t *testing.T) {
	dir := t.TempDir()
	token, err := runCLI(t, "admin", "create-key", "--data-dir", dir, "--role", "admin", "--name", "ops")
	if err != nil {
		t.Fatal(err)
	}
	adminKey := strings.TrimSpace(token)

	ctx, cancel := context.WithCancel(context.Background())
	stdout, logs := &syncBuffer{}, &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--data-dir", dir, "--listen", "127.0.0.1:0", "--log-format", "json"}, noEnv, stdout, logs)
	}()
	base := waitListening(t, stdout, done)

	api := &apiClient{t: t, base: base}
	if code, _ := api.do("GET", "/healthz", "", nil); code != 200 {
		t.Fatalf("healthz %d", code)
	}
	var site, carrier, parcel struct{ ID string }
	var key struct{ Token string }
	api.ok("POST", "/v1/sites", adminKey, map[string]any{"name": "Centrum", "address": "Marszałkowska 1, Warszawa",
		"lat": 52.23, "lon": 21.01, "time_zone": "Europe/Warsaw"}, &site)
	api.ok("POST", "/v1/sites/"+site.ID+"/compartments", adminKey, map[string]any{"label": "A1", "size": "M"}, nil)
	api.ok("POST", "/v1/carriers", adminKey, map[string]any{"name": "Poczta"}, &carrier)
	keys := map[string]string{}
	for _, role := range []string{"carrier", "courier", "kiosk"} {
		api.ok("POST", "/v1/api-keys", adminKey, map[string]any{"role": role, "carrier_id": carrier.ID, "site_id": site.ID}, &key)
		keys[role] = key.Token
	}
	api.ok("POST", "/v1/parcels", keys["carrier"], map[string]any{"tracking_number": "PL-000123", "size": "S", "site_id": site.ID,
		"recipient": map[string]any{"name": "Jan Kowalski", "phone": "+48600100200", "language": "pl"}}, &parcel)
	api.ok("POST", "/v1/parcels/"+parcel.ID+"/reserve", keys["courier"], nil, nil)
	_, depositBody := api.do("POST", "/v1/parcels/"+parcel.ID+"/deposit", keys["courier"], nil)

	pin := pickupCode(t, dir, parcel.ID)
	if strings.Contains(depositBody, pin) {
		t.Fatal("the deposit response shows the PIN to the courier")
	}
	if code, _ := api.do("POST", "/v1/sites/"+site.ID+"/pickup", keys["kiosk"], map[string]any{"pin": pin, "phone_digits": "0201"}); code != 403 {
		t.Fatalf("wrong phone digits: %d, want 403", code)
	}
	var opened struct {
		CompartmentLabel string `json:"compartment_label"`
	}
	api.ok("POST", "/v1/sites/"+site.ID+"/pickup", keys["kiosk"], map[string]any{"pin": pin, "phone_digits": "0200"}, &opened)
	if opened.CompartmentLabel != "A1" {
		t.Fatalf("opened %q, want A1", opened.CompartmentLabel)
	}
	var got struct{ State string }
	api.ok("GET", "/v1/parcels/"+parcel.ID, keys["carrier"], nil, &got)
	if got.State != "picked_up" {
		t.Fatalf("state %s", got.State)
	}
	if code, body := api.do("GET", "/metrics", "", nil); code != 200 || !strings.Contains(body, `parcelguard_pickup_attempts_total{outcome="ok"} 1`) {
		t.Fatalf("metrics %d lack the pickup counter", code)
	}
	if _, body := api.do("GET", "/metrics", "", nil); !regexp.MustCompile(`(?m)^parcelguard_sqlite_writer_updates_total [1-9]`).MatchString(body) ||
		!strings.Contains(body, "parcelguard_sqlite_writer_busy_seconds_total ") {
		t.Fatalf("metrics lack the SQLite writer's load")
	}
	if _, body := api.do("GET", "/metrics", "", nil); !regexp.MustCompile(`(?m)^parcelguard_outbox_due_messages \d+$`).MatchString(body) ||
		!regexp.MustCompile(`(?m)^parcelguard_outbox_oldest_due_seconds [0-9.e+]+$`).MatchString(body) {
		t.Fatalf("metrics lack the outbox's backlog")
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	for _, secret := range []string{pin, adminKey, keys["kiosk"]} {
		if strings.Contains(logs.String(), secret) {
			t.Fatalf("a code or key reached the logs")
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "parcelguard.db*"))
	for _, name := range files {
		data, _ := os.ReadFile(name)
		if bytes.Contains(data, []byte(pin)) || bytes.Contains(data, []byte(adminKey)) {
			t.Fatalf("a code or key is stored in plain text in %s", filepath.Base(name))
		}
	}

	out, err := runCLI(t, "audit", "verify", "--data-dir", dir)
	if err != nil || !strings.Contains(out, "audit log intact") {
		t.Fatalf("audit verify: %v\n%s", err, out)
	}
	raw, err := sql.Open("sqlite", filepath.Join(dir, "parcelguard.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`UPDATE events SET actor = 'courier:nobody' WHERE kind = 'parcel.picked_up'`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	out, err = runCLI(t, "audit", "verify", "--data-dir", dir)
	if exitCode(err) != 1 || !strings.Contains(out, "BROKEN") {
		t.Fatalf("tampered log: exit %d, err %v\n%s", exitCode(err), err, out)
	}
}

var listening = regexp.MustCompile(`listening on (http://\S+)`)

// waitListening waits for serve to print its address.
func waitListening(t *testing.T, stdout *syncBuffer, done <-chan error) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m := listening.FindStringSubmatch(stdout.String()); m != nil {
			return m[1]
		}
		select {
		case err := <-done:
			t.Fatalf("serve exited early: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatal("serve did not start listening")
	return ""
}

// pickupCode reads a parcel's PIN the way the recipient's channels do,
// through the service with the server keyring.
func pickupCode(t *testing.T, dir, parcelID string) string {
	t.Helper()
	keys, err := code.LoadKeyring(filepath.Join(dir, "keyring.json"))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "parcelguard.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc := service.New(service.Config{Store: db, Clock: parcelguard.SystemClock{}, Keys: keys})
	pin, _, err := svc.PickupCode(context.Background(), parcelID)
	if err != nil {
		t.Fatal(err)
	}
	return pin
}

type apiClient struct {
	t    *testing.T
	base string
}

func (c *apiClient) do(method, path, key string, body any) (int, string) {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func (c *apiClient) ok(method, path, key string, body, out any) {
	c.t.Helper()
	code, resp := c.do(method, path, key, body)
	if code/100 != 2 {
		c.t.Fatalf("%s %s: %d %s", method, path, code, resp)
	}
	if out != nil {
		if err := json.Unmarshal([]byte(resp), out); err != nil {
			c.t.Fatalf("%s %s: decode: %v", method, path, err)
		}
	}
}

// Ensure help explains each command and flag with its environment variable,
// and bad command lines get a clear message instead of a panic.
func TestCommandLine(t *testing.T) {
	out, err := runCLI(t, "--help")
	if err != nil || !strings.Contains(out, "serve") || !strings.Contains(out, "audit") {
		t.Fatalf("--help: %v\n%s", err, out)
	}
	var stderr bytes.Buffer
	if err := run(context.Background(), []string{"serve", "--help"}, noEnv, io.Discard, &stderr); err != nil {
		t.Fatalf("serve --help: %v", err)
	}
	for _, want := range []string{"--listen", "PARCELGUARD_LISTEN", "--data-dir", "PARCELGUARD_DATA_DIR"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("serve --help lacks %s", want)
		}
	}
	if _, err := runCLI(t, "frobnicate"); !errors.Is(err, errUsage) {
		t.Errorf("unknown command: %v", err)
	}
	env := func(k string) string {
		if k == "PARCELGUARD_SCHEDULER_INTERVAL" {
			return "soon"
		}
		return ""
	}
	err = run(context.Background(), []string{"serve", "--data-dir", t.TempDir()}, env, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "PARCELGUARD_SCHEDULER_INTERVAL") {
		t.Errorf("bad env value: %v", err)
	}
	err = run(context.Background(), []string{"serve", "--data-dir", t.TempDir(), "--public-url", "parcels.example.com"}, noEnv, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--public-url") {
		t.Errorf("bad public URL: %v", err)
	}
	if _, err := runCLI(t, "admin", "create-key", "--data-dir", t.TempDir(), "--role", "wizard"); err == nil || !strings.Contains(err.Error(), "role") {
		t.Errorf("bad role: %v", err)
	}
}

// Ensure --trusted-proxies (or its environment variable) reaches the
// configuration, and a bad list is refused before anything starts, naming
// the entry.
func TestTrustedProxiesFlag(t *testing.T) {
	err := run(context.Background(), []string{"serve", "--data-dir", t.TempDir(), "--trusted-proxies", "10.0.0.0/8, proxy.local"},
		noEnv, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), `"proxy.local"`) {
		t.Errorf("bad --trusted-proxies: %v", err)
	}
	e := &env{getenv: func(k string) string {
		if k == "PARCELGUARD_TRUSTED_PROXIES" {
			return "10.0.0.0/8,::1"
		}
		return ""
	}, stdout: io.Discard, stderr: io.Discard}
	cfg, err := parseAppFlags(e, newFlagSet(e, "serve", ""), nil, "127.0.0.1:0")
	if err != nil || len(cfg.trustedProxies) != 2 || cfg.trustedProxies[0].String() != "10.0.0.0/8" {
		t.Errorf("PARCELGUARD_TRUSTED_PROXIES: %v %v", cfg.trustedProxies, err)
	}
}
