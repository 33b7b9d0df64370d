package audit_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/audit"
	"github.com/parcelguard/parcelguard/code"
	"github.com/parcelguard/parcelguard/internal/pgtest"
	"github.com/parcelguard/parcelguard/postgres"
	"github.com/parcelguard/parcelguard/service"
	"github.com/parcelguard/parcelguard/sqlite"
)

// TestMain stops the throwaway PostgreSQL cluster the tests start.
func TestMain(m *testing.M) { pgtest.Main(m) }

// engine is one store with a way to run raw SQL against it, as someone
// tampering with the database would.
type engine struct {
	store  parcelguard.Store
	tamper func(t *testing.T, sql string)
}

func onEngines(t *testing.T, fn func(t *testing.T, e engine)) {
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "audit.db")
		db, err := sqlite.Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		fn(t, engine{store: db, tamper: func(t *testing.T, q string) {
			raw, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			if _, err := raw.Exec(q); err != nil {
				t.Fatalf("tamper: %v", err)
			}
		}})
	})
	t.Run("postgres", func(t *testing.T) {
		if testing.Short() {
			t.Skip("PostgreSQL in -short mode")
		}
		url := pgtest.URL(t)
		db, err := postgres.Open(t.Context(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		fn(t, engine{store: db, tamper: func(t *testing.T, q string) {
			conn, err := pgx.Connect(t.Context(), url)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(context.Background())
			if _, err := conn.Exec(t.Context(), q); err != nil {
				t.Fatalf("tamper: %v", err)
			}
		}})
	})
}

// doorstepLog runs doorstep deliveries for two carriers through the
// service and returns the carriers.
func doorstepLog(t *testing.T, store parcelguard.Store) (a, b *parcelguard.Carrier) {
	t.Helper()
	ctx := t.Context()
	keys, err := code.GenerateKeyring()
	if err != nil {
		t.Fatal(err)
	}
	clock := parcelguard.NewManualClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	svc := service.New(service.Config{Store: store, Clock: clock, Keys: keys})
	admin := parcelguard.Principal{Role: parcelguard.RoleAdmin, KeyPrefix: "pgk_adm"}
	door := service.Position{Lat: 48.141, Lon: 11.561}
	var carriers []*parcelguard.Carrier
	for i, name := range []string{"Fast Parcel", "Slow Parcel"} {
		c, err := svc.CreateCarrier(ctx, admin, parcelguard.Carrier{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		carriers = append(carriers, c)
		courier := parcelguard.Principal{Role: parcelguard.RoleCourier, KeyPrefix: "pgk_c" + c.ID, CarrierID: c.ID}
		carrier := parcelguard.Principal{Role: parcelguard.RoleCarrier, KeyPrefix: "pgk_k" + c.ID, CarrierID: c.ID}
		for j := range 2 {
			x, err := svc.AnnounceDoorstep(ctx, carrier, service.DoorstepAnnouncement{
				Parcel: parcelguard.Parcel{TrackingNumber: "AU-" + string(rune('A'+i)) + string(rune('0'+j)), Size: parcelguard.SizeS,
					Recipient: parcelguard.Recipient{Name: "Ada", Phone: "+4915112345678"}},
				Address: "Arnulfstr. 1", Lat: door.Lat, Lon: door.Lon, TimeZone: "Europe/Berlin", Country: "DE"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := svc.OutForDelivery(ctx, courier, x.Parcel.ID, 0); err != nil {
				t.Fatal(err)
			}
			if j == 0 {
				_, err = svc.VerifyDoorstep(ctx, courier, x.Parcel.ID, "", door)
			} else {
				_, err = svc.FailAttempt(ctx, courier, x.Parcel.ID, parcelguard.ReasonNotAtHome, door)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	return carriers[0], carriers[1]
}

// Ensure doorstep events go to their carrier's own chain (none to the
// system chain), audit verify walks those chains with the others, and
// tampering with one carrier's chain is found there while the other
// carrier's chain stays intact.
func TestVerifyCarrierStreams(t *testing.T) {
	onEngines(t, func(t *testing.T, e engine) {
		a, b := doorstepLog(t, e.store)
		r, err := audit.Verify(t.Context(), e.store)
		if err != nil {
			t.Fatal(err)
		}
		streamA, streamB := parcelguard.CarrierStream(a.ID), parcelguard.CarrierStream(b.ID)
		if !r.OK() || r.Heads[streamA] == nil || r.Heads[streamB] == nil || r.Heads[parcelguard.SystemStream] == nil {
			t.Fatalf("report %+v, broken %v", r.Heads, r.Broken)
		}
		err = e.store.View(t.Context(), func(tx parcelguard.Tx) error {
			sys, err := tx.Events(t.Context(), parcelguard.EventFilter{Stream: parcelguard.SystemStream, Limit: 1000})
			if err != nil {
				return err
			}
			for _, ev := range sys {
				if ev.ParcelID != "" || strings.HasPrefix(string(ev.Kind), "doorstep.") {
					t.Errorf("doorstep event %s %s in the system chain", ev.Kind, ev.ParcelID)
				}
			}
			for _, stream := range []string{streamA, streamB} {
				evs, err := tx.Events(t.Context(), parcelguard.EventFilter{Stream: stream, Limit: 1000})
				if err != nil {
					return err
				}
				// Two parcels: announced, out, delivered; announced, out,
				// attempt failed, rescheduled.
				if len(evs) != 7 {
					t.Errorf("%s has %d events, want 7", stream, len(evs))
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}

		e.tamper(t, `UPDATE events SET data = '{"verified_by":"recipient"}' WHERE stream = '`+streamA+`' AND seq = 3`)
		r, err = audit.Verify(t.Context(), e.store)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Broken) != 1 || r.Broken[0].Stream != streamA || r.Broken[0].Seq != 3 || !strings.Contains(r.Broken[0].Reason, "edited") {
			t.Fatalf("after editing %s seq 3: %+v", streamA, r.Broken)
		}
		e.tamper(t, `DELETE FROM events WHERE stream = '`+streamB+`' AND seq = 7`)
		r, err = audit.Verify(t.Context(), e.store)
		if err != nil {
			t.Fatal(err)
		}
		var brk *audit.Break
		for _, b := range r.Broken {
			if b.Stream == streamB {
				brk = b
			}
		}
		if len(r.Broken) != 2 || brk == nil || brk.Seq != 7 || !strings.Contains(brk.Reason, "removed from the end") {
			t.Fatalf("after cutting %s: %+v", streamB, r.Broken)
		}
	})
}
