package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard/client"
	"github.com/parcelguard/parcelguard/internal/pgtest"
)

// Integration test (starts its own PostgreSQL cluster; skipped with
// -short): the database is stopped under load and started again. While it
// is down every request fails cleanly, as 503 problem+json with
// Retry-After, and /readyz says not ready; once it is back the same serve
// process answers again by itself, and the audit chains are intact.
func TestServeSurvivesDatabaseRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: starts a PostgreSQL cluster of its own")
	}
	began := time.Now()
	cluster := pgtest.Dedicated(t)
	dbURL := cluster.URL("postgres")
	dir := t.TempDir()
	keyring := filepath.Join(dir, "keyring.json")
	adminKey := strings.TrimSpace(must1[string](t)(runCLI(t, "admin", "create-key", "--db", dbURL, "--keyring", keyring, "--role", "admin")))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout, logs := &syncBuffer{}, &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--db", dbURL, "--keyring", keyring, "--data-dir", dir, "--listen", "127.0.0.1:0",
			"--scheduler-interval", "100ms", "--notify-interval", "100ms", "--db-connect-timeout", "1s",
			"--rate-limit-key", "100000", "--rate-limit-address", "100000", "--log-format", "json"}, noEnv, stdout, logs)
	}()
	base := waitListening(t, stdout, done)
	defer func() {
		if t.Failed() {
			t.Logf("serve logs:\n%s", tail(logs.String(), 4000))
		}
	}()
	once := client.RetryPolicy{MaxAttempts: 1}
	c, err := client.New(base, client.WithRetry(once), client.WithHTTPClient(&http.Client{Timeout: 20 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	adm := c.WithToken(adminKey)
	site, err := adm.CreateSite(ctx, client.NewSite{Name: "Centrum", Address: "Prosta 51, Warszawa", Lat: 52.23, Lon: 21.0})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		if _, err := adm.AddCompartment(ctx, site.ID, client.NewCompartment{Label: fmt.Sprintf("C%03d", i), Size: "M"}); err != nil {
			t.Fatal(err)
		}
	}
	carrier, err := adm.CreateCarrier(ctx, client.NewCarrier{Name: "Poczta"})
	if err != nil {
		t.Fatal(err)
	}
	carrierC := c.WithToken(mustKey(t, ctx, adm, client.NewAPIKey{Role: "carrier", CarrierID: carrier.ID}))
	courierC := c.WithToken(mustKey(t, ctx, adm, client.NewAPIKey{Role: "courier", CarrierID: carrier.ID}))

	// Load: workers announce, reserve and deposit parcels in a loop and
	// sort every answer into ok, a clean 503, or anything else (a failure).
	var (
		// phase is 0 before the stop, 1 while down, 2 once ready again,
		// and changing while the server stops or starts.
		phase    atomic.Int32
		seq      atomic.Int64
		outcomes [3]counter
		wrong    = make(chan error, 100)
		wg       sync.WaitGroup
	)
	const (
		workers  = 4
		changing = 3
	)
	classify := func(err error) string {
		var pe *client.Error
		switch {
		case err == nil:
			return "ok"
		case errors.As(err, &pe) && pe.Status == http.StatusServiceUnavailable && pe.Code == "unavailable" && pe.RetryAfter > 0:
			return "503"
		}
		select {
		case wrong <- err:
		default:
		}
		return "wrong"
	}
	load, stopLoad := context.WithCancel(ctx)
	for range workers {
		wg.Go(func() {
			for load.Err() == nil {
				n := seq.Add(1)
				ph := phase.Load()
				p, err := carrierC.AnnounceParcel(load, client.NewParcel{TrackingNumber: fmt.Sprintf("R-%06d", n), Size: "S", SiteID: site.ID,
					Recipient: client.Recipient{Name: "Anna Nowak", Phone: "+48600100200"}})
				if err == nil {
					_, err = courierC.Reserve(load, p.ID)
				}
				if err == nil {
					_, err = courierC.Deposit(load, p.ID)
				}
				if load.Err() != nil {
					return
				}
				// A request that straddles a phase change proves nothing
				// about either phase.
				if phase.Load() == ph && ph != changing {
					outcomes[ph].add(classify(err))
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
	waitFor(t, ctx, 30*time.Second, "load before the stop", func() (bool, string) {
		return outcomes[0].get("ok") >= 20, outcomes[0].String()
	})

	// Down: every answer is a clean 503 with Retry-After, and /readyz fails.
	stopStart := time.Now()
	phase.Store(changing)
	if err := cluster.Stop(); err != nil {
		t.Fatal(err)
	}
	phase.Store(1)
	if _, err := c.Readyz(ctx); !errors.Is(err, client.ErrUnavailable) {
		t.Errorf("readyz with the database down: got %v, want 503 unavailable", err)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/parcels", nil)
	req.Header.Set("Authorization", "Bearer "+adminKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var problem struct {
		Type   string `json:"type"`
		Status int    `json:"status"`
	}
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Content-Type") != "application/problem+json" ||
		res.Header.Get("Retry-After") == "" || json.Unmarshal(body, &problem) != nil ||
		problem.Status != 503 || problem.Type != client.ProblemBase+"unavailable" {
		t.Errorf("GET /v1/parcels with the database down: %d, Content-Type %q, Retry-After %q, body %s",
			res.StatusCode, res.Header.Get("Content-Type"), res.Header.Get("Retry-After"), body)
	}
	waitFor(t, ctx, 30*time.Second, "clean failures while down", func() (bool, string) {
		return outcomes[1].get("503") >= 2*workers && time.Since(stopStart) > time.Second, outcomes[1].String()
	})
	downFor := time.Since(stopStart)

	// Back: the same process serves again without a restart.
	phase.Store(changing)
	if err := cluster.Start(); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	var recovered time.Duration
	waitFor(t, ctx, 30*time.Second, "readiness after the restart", func() (bool, string) {
		h, err := c.Readyz(ctx)
		if err == nil && h.Status == "ready" && recovered == 0 {
			recovered = time.Since(restarted)
		}
		return err == nil, fmt.Sprint(err)
	})
	phase.Store(2)
	waitFor(t, ctx, 30*time.Second, "load after the restart", func() (bool, string) {
		return outcomes[2].get("ok") >= 20, outcomes[2].String()
	})
	stopLoad()
	wg.Wait()
	close(wrong)
	for err := range wrong {
		t.Errorf("an answer that is neither a success nor a clean 503: %v", err)
	}
	for ph, name := range []string{"before", "down", "after"} {
		if n := outcomes[ph].get("wrong"); n > 0 {
			t.Errorf("%s the stop: %d wrong answers (%v)", name, n, &outcomes[ph])
		}
	}
	if n := outcomes[1].get("ok"); n > 0 {
		t.Errorf("%d successes while the database was down", n)
	}
	for ph, name := range []string{"before the stop", "", "once ready again"} {
		if n := outcomes[ph].get("503"); n > 0 && name != "" {
			t.Errorf("%d answers 503 %s, with the database up", n, name)
		}
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve: %v", err)
	}
	out, err := runCLI(t, "audit", "verify", "--db", dbURL, "--keyring", keyring)
	if err != nil || !strings.Contains(out, "audit log intact") {
		t.Errorf("audit verify: %v\n%s", err, out)
	}
	t.Logf("database down %v; ready again %v after its start; outcomes before %v, down %v, after %v; total %v",
		downFor.Round(time.Millisecond), recovered.Round(time.Millisecond), &outcomes[0], &outcomes[1], &outcomes[2],
		time.Since(began).Round(time.Millisecond))
}
