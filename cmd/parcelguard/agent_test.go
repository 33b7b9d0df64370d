package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
	pgnats "github.com/parcelguard/parcelguard/nats"
	"github.com/parcelguard/parcelguard/sqlite"
)

// Ensure serve (here the demo) runs the embedded NATS server, provisions a
// locker per site with a private provisioning file, and an agent started
// from that file connects and reports in.
func TestAgentCommand(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	stdout := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"demo", "--data-dir", dir, "--listen", "127.0.0.1:0"}, noEnv, stdout, &syncBuffer{})
	}()
	waitListening(t, stdout, done)
	defer func() { cancel(); <-done }() // serve stops before its data directory goes
	agentReportsIn(ctx, t, dir, nil)
	if err := run(ctx, []string{"agent"}, noEnv, &syncBuffer{}, &syncBuffer{}); err == nil || !strings.Contains(err.Error(), "--provisioning") {
		t.Fatalf("agent without a provisioning file: %v", err)
	}
}

// Ensure serve on an external nats-server provisions lockers and renders
// the server configuration they need; once the server loads it (SIGHUP),
// the agent connects and reports in.
func TestAgentCommandExternal(t *testing.T) {
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		bin = "/usr/sbin/nats-server"
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	const password = "cloud-password-for-the-test"
	cloud, err := pgnats.CloudUserFor(password)
	if err != nil {
		t.Fatal(err)
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	// The operator's own configuration includes the accounts serve renders.
	accounts := filepath.Join(dir, "nats", "accounts.conf")
	conf := filepath.Join(dir, "nats", "server.conf")
	acc, err := pgnats.ServerConfig{Users: []pgnats.User{cloud}}.RenderAccounts()
	if err != nil {
		t.Fatal(err)
	}
	_ = os.MkdirAll(filepath.Dir(conf), 0o700)
	serverConf := fmt.Sprintf("listen: \"127.0.0.1:%d\"\njetstream {\n  store_dir: %q\n}\ninclude \"accounts.conf\"\n", port, filepath.Join(t.TempDir(), "js"))
	if err := os.WriteFile(accounts, acc, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conf, []byte(serverConf), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := exec.Command(bin, "-c", conf)
	if err := srv.Start(); err != nil {
		t.Fatalf("start nats-server (scripts/install-test-deps.sh installs it): %v", err)
	}
	defer func() { _ = srv.Process.Kill(); _ = srv.Wait() }()
	url := "nats://127.0.0.1:" + strconv.Itoa(port)
	env := func(k string) string {
		if k == "PARCELGUARD_NATS_PASSWORD" {
			return password
		}
		return ""
	}
	stdout := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"demo", "--data-dir", dir, "--listen", "127.0.0.1:0", "--nats-url", url}, env, stdout, &syncBuffer{})
	}()
	waitListening(t, stdout, done)
	defer func() { cancel(); <-done }() // serve stops before its data directory goes
	agentReportsIn(ctx, t, dir, func() {
		// serve rewrote the file with the lockers; load it.
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if b, _ := os.ReadFile(accounts); strings.Contains(string(b), "locker-") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("serve did not render the lockers into the server configuration")
			}
		}
		if err := srv.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	})
}

// agentReportsIn waits for a provisioning file in dir, calls before (if
// any), runs the agent from the file and waits until the cloud has seen it.
func agentReportsIn(ctx context.Context, t *testing.T, dir string, before func()) {
	t.Helper()
	var file string
	for deadline := time.Now().Add(20 * time.Second); file == ""; time.Sleep(50 * time.Millisecond) {
		m, _ := filepath.Glob(filepath.Join(dir, "lockers", "*.json"))
		if len(m) > 0 {
			file = m[0]
		}
		if time.Now().After(deadline) {
			t.Fatal("no provisioning file written")
		}
	}
	if st, err := os.Stat(file); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("provisioning file %s: %v, mode %v", file, err, st.Mode())
	}
	siteID := strings.TrimSuffix(filepath.Base(file), ".json")
	if before != nil {
		before()
	}

	agentOut := &syncBuffer{}
	agentDone := make(chan error, 1)
	actx, stopAgent := context.WithCancel(ctx)
	go func() {
		agentDone <- run(actx, []string{"agent", "--provisioning", file, "--data-dir", t.TempDir(), "--heartbeat", "100ms", "--kiosk-listen", "127.0.0.1:0"}, noEnv, agentOut, agentOut)
	}()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "parcelguard.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var l *parcelguard.Locker
		_ = db.View(ctx, func(tx parcelguard.Tx) (err error) { l, err = tx.Locker(ctx, siteID); return err })
		if l != nil && !l.LastSeenAt.IsZero() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent never reported in; agent output:\n%s", agentOut)
		}
	}
	// The grants of the parcels deposited before provisioning went out.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var pending, sent []*parcelguard.DeviceCommand
		_ = db.View(ctx, func(tx parcelguard.Tx) (err error) {
			if pending, err = tx.DeviceCommands(ctx, parcelguard.DeviceCommandFilter{SiteID: siteID, State: parcelguard.DeviceCommandPending}); err != nil {
				return err
			}
			sent, err = tx.DeviceCommands(ctx, parcelguard.DeviceCommandFilter{SiteID: siteID, State: parcelguard.DeviceCommandSent})
			return err
		})
		if len(pending) == 0 && len(sent) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("commands not sent: %d pending, %d sent", len(pending), len(sent))
		}
	}
	stopAgent()
	if err := <-agentDone; err != nil {
		t.Fatalf("agent: %v", err)
	}
}
