package main

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Ensure the demo starts on a free port with a seeded network whose keys
// work and whose parcels cover the locker states, including one already
// expired into the return queue.
func TestDemo(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"demo", "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0"}, noEnv, stdout, &syncBuffer{})
	}()
	base := waitListening(t, stdout, done)
	m := regexp.MustCompile(`carrier \(Poczta Express\)\s+(pgk_\S+)`).FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("no carrier key in the demo output:\n%s", stdout)
	}
	api := &apiClient{t: t, base: base}
	_, body := api.do("GET", "/v1/parcels?limit=500", m[1], nil)
	var page struct {
		Items []struct {
			State string `json:"state"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(body), &page); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	count := map[string]int{}
	for _, p := range page.Items {
		count[p.State]++
	}
	want := map[string]int{"announced": 3, "reserved": 3, "deposited": 6, "picked_up": 3, "expired": 3}
	for state, n := range want {
		if count[state] != n {
			t.Errorf("%d %s parcels, want %d (all: %v)", count[state], state, n, count)
		}
	}
	// The dispatcher delivers the deposit notices to the mailbox.
	op := regexp.MustCompile(`operator\s+(pgk_\S+)`).FindStringSubmatch(stdout.String())
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, body = api.do("GET", "/v1/mailbox?limit=200", op[1], nil)
		var box struct {
			Items []struct {
				Kind    string `json:"kind"`
				Subject string `json:"subject"`
				Text    string `json:"text"`
			} `json:"items"`
		}
		if err := json.Unmarshal([]byte(body), &box); err != nil {
			t.Fatalf("mailbox %s: %v", body, err)
		}
		deposits := 0
		for _, m := range box.Items {
			if m.Kind == "deposit" {
				deposits++
				// Every recipient message links to the tracking page,
				// the token in the fragment.
				if !strings.Contains(m.Text, base+"/track#pgr_") {
					t.Errorf("deposit notice without a tracking link to %s:\n%s", base, m.Text)
				}
			}
		}
		if deposits > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no deposit notice in the mailbox: %s", body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
