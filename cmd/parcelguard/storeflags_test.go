package main

import (
	"strings"
	"testing"
	"time"
)

// Ensure impossible pool settings are refused with a message naming the
// flag, and sensible ones pass.
func TestPGFlagsValidate(t *testing.T) {
	ok := pgFlags{connectTimeout: 5 * time.Second, statementTimeout: 10 * time.Second, idleInTxTO: time.Minute, maxRetries: 10}
	if err := ok.validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for _, c := range []struct {
		flag string
		mod  func(f *pgFlags)
	}{
		{"--db-max-conns", func(f *pgFlags) { f.maxConns = -1 }},
		{"--db-min-conns", func(f *pgFlags) { f.minConns = -1 }},
		{"--db-min-conns", func(f *pgFlags) { f.maxConns, f.minConns = 4, 5 }},
		{"--db-connect-timeout", func(f *pgFlags) { f.connectTimeout = 0 }},
		{"--db-statement-timeout", func(f *pgFlags) { f.statementTimeout = -time.Second }},
		{"--db-idle-in-transaction-timeout", func(f *pgFlags) { f.idleInTxTO = -time.Second }},
		{"--db-max-retries", func(f *pgFlags) { f.maxRetries = -1 }},
	} {
		f := ok
		c.mod(&f)
		if err := f.validate(); err == nil || !strings.Contains(err.Error(), c.flag) {
			t.Errorf("%+v: got %v, want an error naming %s", f, err, c.flag)
		}
	}
	// A disabled statement timeout is allowed.
	f := ok
	f.statementTimeout = 0
	if err := f.validate(); err != nil {
		t.Errorf("statement timeout 0: %v", err)
	}
}
