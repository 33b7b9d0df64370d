package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
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

	agentOut := &syncBuffer{}
	agentDone := make(chan error, 1)
	actx, stopAgent := context.WithCancel(ctx)
	go func() {
		agentDone <- run(actx, []string{"agent", "--provisioning", file, "--data-dir", t.TempDir(), "--heartbeat", "100ms"}, noEnv, agentOut, &syncBuffer{})
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
	stopAgent()
	if err := <-agentDone; err != nil {
		t.Fatalf("agent: %v", err)
	}
	if err := run(ctx, []string{"agent"}, noEnv, &syncBuffer{}, &syncBuffer{}); err == nil || !strings.Contains(err.Error(), "--provisioning") {
		t.Fatalf("agent without a provisioning file: %v", err)
	}
}
