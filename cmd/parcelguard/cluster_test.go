package main

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parcelguard/parcelguard/client"
	"github.com/parcelguard/parcelguard/internal/pgtest"
)

// Integration test (starts PostgreSQL and three server processes; skipped
// with -short): the real binary, three `parcelguard serve` instances on one
// PostgreSQL database and one keyring, load from concurrent Go clients
// spread over the instances, and one instance killed with SIGKILL midway.
// Afterwards every parcel must be in a valid final state, no grant opened
// twice, every outbox message delivered exactly once, every expiry timer
// fired exactly once, and the audit chains intact.
func TestClusterSurvivesKilledInstance(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: builds the binary, starts PostgreSQL and three servers")
	}
	const (
		sites        = 2
		perSite      = 40 // compartments per site
		pickedUp     = 96 // parcels announced, deposited and picked up
		expiring     = 24 // parcels deposited and left to expire
		workers      = 12
		shortStorage = 2 // seconds of storage for the expiring parcels
	)
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	built := time.Since(began)

	dbURL := pgtest.URL(t)
	keyring := filepath.Join(dir, "keyring.json")
	// The first key creates the schema and the keyring every instance shares.
	adminKey := strings.TrimSpace(must1[string](t)(runCLI(t, "admin", "create-key", "--db", dbURL, "--keyring", keyring, "--role", "admin")))
	serveArgs := []string{"--db", dbURL, "--keyring", keyring, "--data-dir", dir, "--listen", "127.0.0.1:0",
		"--scheduler-interval", "100ms", "--notify-interval", "100ms", "--notify-lease", "3s",
		"--rate-limit-key", "100000", "--rate-limit-address", "100000", "--log-format", "json", "--log-level", "warn"}
	var inst []*instance
	for i := range 3 {
		inst = append(inst, startServe(t, fmt.Sprintf("instance %d", i), bin, serveArgs...))
	}
	started := time.Since(began)
	f := newFleet(t, inst...)
	defer func() {
		if t.Failed() {
			for _, in := range inst {
				t.Logf("%s output:\n%s", in.name, tail(in.out.String(), 3000))
			}
		}
	}()

	// The network: sites with compartments, a carrier that keeps parcels
	// three days and one that keeps them two seconds, and their keys.
	adm := f.client(0, adminKey)
	op := mustKey(t, ctx, adm, client.NewAPIKey{Role: "operator"})
	var siteIDs []string
	kiosk := map[string]string{}
	for s := range sites {
		site, err := adm.CreateSite(ctx, client.NewSite{Name: fmt.Sprintf("Locker %d", s), Address: "Prosta 51, Warszawa",
			Lat: 52.23, Lon: 21.0, TimeZone: "Europe/Warsaw"})
		if err != nil {
			t.Fatal(err)
		}
		for c := range perSite {
			if _, err := adm.AddCompartment(ctx, site.ID, client.NewCompartment{Label: fmt.Sprintf("C%02d", c), Size: "M"}); err != nil {
				t.Fatal(err)
			}
		}
		siteIDs = append(siteIDs, site.ID)
		kiosk[site.ID] = mustKey(t, ctx, adm, client.NewAPIKey{Role: "kiosk", SiteID: site.ID})
	}
	type carrierKeys struct{ id, carrier, courier string }
	newCarrier := func(name string, storage int64) carrierKeys {
		c, err := adm.CreateCarrier(ctx, client.NewCarrier{Name: name, StoragePeriodSeconds: storage})
		if err != nil {
			t.Fatal(err)
		}
		return carrierKeys{c.ID, mustKey(t, ctx, adm, client.NewAPIKey{Role: "carrier", CarrierID: c.ID}),
			mustKey(t, ctx, adm, client.NewAPIKey{Role: "courier", CarrierID: c.ID})}
	}
	normal, short := newCarrier("Poczta", 0), newCarrier("Szybka", shortStorage)

	// The load: each parcel is announced, reserved and deposited; most are
	// then picked up with the PIN from the recipient's SMS in the mailbox.
	// Calls go round the instances; halfway one instance is killed.
	var (
		outcomes  counter
		deposited atomic.Int64
		killOnce  sync.Once
		killedAt  time.Duration
		afterKill atomic.Int64 // parcels finished after the kill
		killed    atomic.Bool
		jobs      = make(chan int)
		wg        sync.WaitGroup
	)
	const total = pickedUp + expiring
	loadStart := time.Now()
	for w := range workers {
		wg.Go(func() {
			for n := range jobs {
				i := w + n // spreads consecutive calls of a worker over the instances
				ck, pickup := normal, n < pickedUp
				if !pickup {
					ck = short
				}
				site := siteIDs[n%sites]
				phone := fmt.Sprintf("+4860010%04d", n)
				tracking := fmt.Sprintf("PL-%06d", n)
				var p *client.Parcel
				err := f.do(ctx, i, ck.carrier, "announce "+tracking, func(c *client.Client, key client.CallOption) (err error) {
					p, err = c.AnnounceParcel(ctx, client.NewParcel{TrackingNumber: tracking, Size: "S", SiteID: site,
						Recipient: client.Recipient{Name: "Jan Kowalski", Phone: phone, Email: fmt.Sprintf("jan%d@example.com", n), Language: "en"}}, key)
					return err
				}, func(c *client.Client) (bool, error) {
					page, err := c.ListParcels(ctx, client.ParcelQuery{TrackingNumber: tracking})
					if err != nil || len(page.Items) != 1 {
						return false, err
					}
					p = &page.Items[0]
					return true, nil
				})
				if err == nil {
					err = f.do(ctx, i+1, ck.courier, "reserve "+p.ID, func(c *client.Client, key client.CallOption) error {
						_, err := c.Reserve(ctx, p.ID, key)
						return err
					}, reached(ctx, p.ID, "reserved", "deposited", "picked_up", "expired"))
				}
				if err == nil {
					err = f.do(ctx, i+2, ck.courier, "deposit "+p.ID, func(c *client.Client, key client.CallOption) error {
						_, err := c.Deposit(ctx, p.ID, key)
						return err
					}, reached(ctx, p.ID, "deposited", "picked_up", "expired"))
				}
				if err == nil && deposited.Add(1) == total/2 {
					killOnce.Do(func() {
						inst[1].kill(t)
						// Clients learn of the death the hard way for a
						// while, and fail over call by call.
						time.AfterFunc(500*time.Millisecond, func() { f.down[1].Store(true) })
						killedAt = time.Since(loadStart)
						killed.Store(true)
					})
				}
				if err == nil && pickup {
					var pin string
					if pin, err = f.mailboxPIN(ctx, i+3, op, p.ID); err == nil {
						// A kiosk may not read parcels: the operator asks
						// whether a pickup the killed instance committed
						// (before it stored its answer) went through.
						err = f.do(ctx, i+4, kiosk[site], "pickup "+p.ID, func(c *client.Client, key client.CallOption) error {
							_, err := c.Pickup(ctx, site, pin, phone[len(phone)-4:], key)
							return err
						}, func(c *client.Client) (bool, error) {
							return reached(ctx, p.ID, "picked_up")(c.WithToken(op))
						})
					}
				}
				if err != nil {
					outcomes.add("failed")
					t.Error(err)
					continue
				}
				outcomes.add("ok")
				if killed.Load() {
					afterKill.Add(1)
				}
			}
		})
	}
	for n := range total {
		jobs <- n
	}
	close(jobs)
	wg.Wait()
	loadTime := time.Since(loadStart)
	if t.Failed() {
		t.FailNow()
	}
	if !killed.Load() || afterKill.Load() == 0 || f.failovers.Load() == 0 {
		t.Fatalf("the kill did not happen midway (killed %v, %d parcels finished after it, %d calls failed over)",
			killed.Load(), afterKill.Load(), f.failovers.Load())
	}

	// The survivors fire the expiry timers and drain the outbox, including
	// what the killed instance had claimed, once its lease ends.
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	settleStart := time.Now()
	waitFor(t, ctx, 60*time.Second, "expiry and outbox", func() (bool, string) {
		var left, unsent int
		if err := conn.QueryRow(ctx, `SELECT
				(SELECT count(*) FROM parcels WHERE state = 'deposited'),
				(SELECT count(*) FROM outbox WHERE state <> 'sent')`).Scan(&left, &unsent); err != nil {
			t.Fatal(err)
		}
		return left == 0 && unsent == 0, fmt.Sprintf("%d parcels still deposited, %d messages not sent", left, unsent)
	})
	settleTime := time.Since(settleStart)

	// Every parcel is in its valid final state, once.
	query := func(q string, args ...any) [][]any {
		t.Helper()
		rows, err := conn.Query(ctx, q, args...)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([]any, error) { return r.Values() })
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return out
	}
	count := func(q string, args ...any) int64 {
		t.Helper()
		var n int64
		if err := conn.QueryRow(ctx, q, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	for _, c := range []struct {
		carrier, state string
		want           int64
	}{{normal.id, "picked_up", pickedUp}, {short.id, "expired", expiring}} {
		if n := count(`SELECT count(*) FROM parcels WHERE carrier_id = $1 AND state = $2`, c.carrier, c.state); n != c.want {
			t.Errorf("%d parcels of carrier %s %s, want %d; by state: %v", n, c.carrier, c.state, c.want,
				query(`SELECT carrier_id, state, count(*) FROM parcels GROUP BY 1, 2`))
		}
	}
	if n := count(`SELECT count(*) FROM parcels`); n != total {
		t.Errorf("%d parcels, want %d", n, total)
	}
	// A compartment holds the parcel it says, and only expired parcels
	// still occupy one (until a courier collects them).
	if bad := query(`SELECT c.id, c.state, p.state FROM compartments c LEFT JOIN parcels p ON p.id = c.parcel_id
			WHERE (c.state = 'occupied') <> (p.state IS NOT DISTINCT FROM 'expired' AND p.compartment_id = c.id)
			   OR (c.state = 'free') <> (c.parcel_id IS NULL)`); len(bad) > 0 {
		t.Errorf("compartments out of step with their parcels: %v", bad)
	}

	// One pickup grant per parcel; used once by a picked-up parcel,
	// expired with an expired one; one pickup event per used grant.
	if bad := query(`SELECT p.id, p.state, count(g.id), string_agg(g.state, ',') FROM parcels p
			LEFT JOIN grants g ON g.parcel_id = p.id AND g.purpose = 'pickup'
			GROUP BY p.id, p.state
			HAVING count(g.id) <> 1 OR min(g.state) <> CASE p.state WHEN 'picked_up' THEN 'used' ELSE 'expired' END`); len(bad) > 0 {
		t.Errorf("parcels whose pickup grants are wrong: %v", bad)
	}
	if bad := query(`SELECT grant_id, count(*) FROM events WHERE kind = 'parcel.picked_up' GROUP BY grant_id HAVING count(*) <> 1`); len(bad) > 0 {
		t.Errorf("grants opened more than once: %v", bad)
	}
	if n := count(`SELECT count(DISTINCT grant_id) FROM events WHERE kind = 'parcel.picked_up'`); n != pickedUp {
		t.Errorf("%d grants opened, want %d", n, pickedUp)
	}
	if bad := query(`SELECT parcel_id, kind, count(*) FROM events
			WHERE kind IN ('parcel.announced', 'parcel.reserved', 'parcel.deposited', 'parcel.picked_up', 'parcel.expired')
			GROUP BY parcel_id, kind HAVING count(*) <> 1`); len(bad) > 0 {
		t.Errorf("state changes recorded other than once: %v", bad)
	}

	// Timers: each expiring parcel's expiry fired once (one event, one
	// notice per channel); a pickup cancelled the rest.
	if n := count(`SELECT count(*) FROM events WHERE kind = 'parcel.expired'`); n != expiring {
		t.Errorf("%d expiry events, want %d", n, expiring)
	}
	if n := count(`SELECT count(*) FROM timers`); n != 0 {
		t.Errorf("%d timers left: %v", n, query(`SELECT kind, parcel_id, due_at FROM timers`))
	}

	// The outbox: every deposit, pickup and expiry made exactly one message
	// per channel (e-mail, SMS, carrier webhook), each delivered exactly
	// once into the mailbox, none lost with the killed instance.
	want := map[string]int64{"deposit": total * 2, "picked_up": pickedUp * 2, "expiry": expiring * 2}
	for kind, n := range want {
		if got := count(`SELECT count(*) FROM outbox WHERE kind = $1`, kind); got != n {
			t.Errorf("%d %s messages, want %d", got, kind, n)
		}
	}
	if bad := query(`SELECT parcel_id, kind, channel, count(*) FROM outbox WHERE kind <> 'webhook'
			GROUP BY 1, 2, 3 HAVING count(*) <> 1`); len(bad) > 0 {
		t.Errorf("messages made more than once: %v", bad)
	}
	if got, want := count(`SELECT count(*) FROM outbox WHERE kind = 'webhook' AND data LIKE '%parcel.deposited%'`), int64(total); got != want {
		t.Errorf("%d deposit webhooks, want %d", got, want)
	}
	// A message is delivered once, or, when it had nothing left to say by
	// the time it went out (a deposit notice the killed instance had
	// claimed, sent after its lease when the parcel was already picked up
	// with the PIN from the SMS), recorded as skipped and not delivered.
	if bad := query(`SELECT o.id, o.kind, o.channel, o.state, o.last_error, count(m.id) FROM outbox o
			LEFT JOIN mailbox m ON m.message_id = o.id
			GROUP BY o.id, o.kind, o.channel, o.state, o.last_error
			HAVING NOT (o.state = 'sent' AND (count(m.id) = 1 AND o.last_error = '' OR
				count(m.id) = 0 AND o.last_error LIKE 'skipped: %'))`); len(bad) > 0 {
		t.Errorf("messages lost or delivered twice: %v", bad)
	}
	skipped := count(`SELECT count(*) FROM outbox WHERE last_error LIKE 'skipped: %'`)

	// The audit chains, checked by the program itself.
	out, err := exec.Command(bin, "audit", "verify", "--db", dbURL, "--keyring", keyring).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "audit log intact") {
		t.Errorf("audit verify: %v\n%s", err, out)
	}
	for _, in := range []*instance{inst[0], inst[2]} {
		if strings.Contains(in.out.String(), "panic") {
			t.Errorf("%s panicked:\n%s", in.name, tail(in.out.String(), 3000))
		}
	}
	t.Logf("%d parcels (%d picked up, %d expired) by %d clients over 3 instances; instance 1 SIGKILLed at %v after %d deposits, "+
		"%d parcels finished after the kill, %d failovers, %d stale messages skipped; build %v, start %v, load %v, settle %v, total %v; outcomes %v",
		total, pickedUp, expiring, workers, killedAt.Round(time.Millisecond), total/2, afterKill.Load(), f.failovers.Load(), skipped,
		built.Round(time.Millisecond), (started - built).Round(time.Millisecond), loadTime.Round(time.Millisecond),
		settleTime.Round(time.Millisecond), time.Since(began).Round(time.Millisecond), &outcomes)
}

// reached returns a settled check: whether parcel id is in one of states.
func reached(ctx context.Context, id string, states ...string) func(c *client.Client) (bool, error) {
	return func(c *client.Client) (bool, error) {
		p, err := c.Parcel(ctx, id)
		if err != nil {
			return false, err
		}
		for _, s := range states {
			if p.State == s {
				return true, nil
			}
		}
		return false, nil
	}
}

// mustKey creates an API key and returns its token.
func mustKey(t *testing.T, ctx context.Context, c *client.Client, in client.NewAPIKey) string {
	t.Helper()
	k, err := c.CreateAPIKey(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	return k.Token
}

// must1 fails the test on err, else returns v.
func must1[T any](t *testing.T) func(v T, err error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// waitFor polls cond until it holds, failing the test after limit with
// cond's last explanation.
func waitFor(t *testing.T, ctx context.Context, limit time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("%s: not done after %v: %s", what, limit, why)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// tail returns the end of s.
func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
