package main

import (
	"context"
	"encoding/json"
	"regexp"
	"testing"
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
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
