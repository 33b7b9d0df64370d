package sim

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/sqlite"
)

// Fault injection: each test breaks the store behind the service's back
// in one way and requires the run to report that kind of violation. A
// checker that stayed silent here would be one that cannot fail.

// faultRun runs cfg with fault as the after-tick hook on a fresh SQLite
// store at path and returns the violations by kind.
func faultRun(t *testing.T, cfg Config, path string, actors []Actor, fault func(ctx context.Context, w *World) (bool, error)) map[string]int {
	t.Helper()
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	done := false
	s, err := Run(context.Background(), cfg, Options{Store: db, Actors: actors, AfterTick: func(ctx context.Context, w *World) error {
		if done {
			return nil
		}
		var err error
		done, err = fault(ctx, w)
		return err
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !done {
		t.Fatal("the fault was never injected")
	}
	if s.Err() == nil {
		t.Fatal("the injected fault went unnoticed")
	}
	t.Logf("caught: %v", s.Err())
	return s.Invariants.ByKind
}

func faultConfig(t *testing.T) Config {
	cfg, err := Preset("small")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Sites, cfg.Parcels, cfg.Attackers = 2, 40, 0
	return cfg
}

// Ensure a tampered audit event (its data rewritten in the database) is
// flagged by the audit verification at the end.
func TestFaultTamperedAuditEvent(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "sim.db")
	by := faultRun(t, faultConfig(t), path, nil, func(ctx context.Context, w *World) (bool, error) {
		if w.stats.total(sPickedUp) == 0 {
			return false, nil
		}
		raw, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
		if err != nil {
			return false, err
		}
		defer raw.Close()
		res, err := raw.ExecContext(ctx, `UPDATE events SET data = '{"label":"tampered"}'
			WHERE id = (SELECT id FROM events WHERE kind = 'parcel.picked_up' ORDER BY at LIMIT 1)`)
		if err != nil {
			return false, err
		}
		n, err := res.RowsAffected()
		return n == 1, err
	})
	if by["audit_chain"] == 0 {
		t.Errorf("no audit_chain violation: %v", by)
	}
}

// Ensure a grant used twice is caught: after a pickup its grant, parcel
// and compartment are put back behind the service's back, so the used
// code presented again opens the door a second time.
func TestFaultGrantUsedTwice(t *testing.T) {
	t.Parallel()
	cfg := faultConfig(t)
	cfg.ReplayShare, cfg.QRShare = 1, 0 // every recipient tries their PIN again a tick after the pickup
	by := faultRun(t, cfg, filepath.Join(t.TempDir(), "sim.db"), nil, func(ctx context.Context, w *World) (bool, error) {
		w.mu.Lock()
		id := ""
		for i := range w.parcels {
			if w.parcels[i].state == pPickedUp {
				id = w.parcels[i].id.String()
				break
			}
		}
		w.mu.Unlock()
		if id == "" {
			return false, nil
		}
		return true, w.store.Update(ctx, func(tx parcelguard.Tx) error {
			x, err := tx.Parcel(ctx, id)
			if err != nil {
				return err
			}
			grants, err := tx.GrantsOfParcel(ctx, id)
			if err != nil {
				return err
			}
			for _, g := range grants {
				if g.Purpose == parcelguard.PurposePickup && g.State == parcelguard.GrantUsed {
					g.State, g.UsedAt = parcelguard.GrantActive, time.Time{}
					if err := tx.SaveGrant(ctx, g); err != nil {
						return err
					}
					c, err := tx.Compartment(ctx, g.CompartmentID)
					if err != nil {
						return err
					}
					c.State, c.ParcelID = parcelguard.CompartmentOccupied, id
					if err := tx.SaveCompartment(ctx, c); err != nil {
						return err
					}
				}
			}
			x.State = parcelguard.ParcelDeposited
			return tx.SaveParcel(ctx, x)
		})
	})
	if by["grant_reused"] == 0 {
		t.Errorf("no grant_reused violation: %v", by)
	}
}

// Ensure a pickup after the deadline is caught: a parcel's deadline and
// grant are extended and its expiry cancelled behind the service's back,
// and its recipient comes an hour after the deadline they were given.
func TestFaultPickupAfterDeadline(t *testing.T) {
	t.Parallel()
	cfg := faultConfig(t)
	cfg.Delay.Never = 1 // nobody comes but the one recipient scheduled below
	by := faultRun(t, cfg, filepath.Join(t.TempDir(), "sim.db"), nil, func(ctx context.Context, w *World) (bool, error) {
		w.mu.Lock()
		idx := -1
		for i := range w.parcels {
			if w.parcels[i].state == pDeposited {
				idx = i
				break
			}
		}
		var id string
		var deadline time.Time
		if idx >= 0 {
			id, deadline = w.parcels[idx].id.String(), unixAt(w.parcels[idx].deadline)
		}
		w.mu.Unlock()
		if idx < 0 {
			return false, nil
		}
		err := w.store.Update(ctx, func(tx parcelguard.Tx) error {
			x, err := tx.Parcel(ctx, id)
			if err != nil {
				return err
			}
			x.Deadline = x.Deadline.Add(48 * time.Hour)
			if err := tx.SaveParcel(ctx, x); err != nil {
				return err
			}
			grants, err := tx.GrantsOfParcel(ctx, id)
			if err != nil {
				return err
			}
			for _, g := range grants {
				g.ExpiresAt = g.ExpiresAt.Add(48 * time.Hour)
				if err := tx.SaveGrant(ctx, g); err != nil {
					return err
				}
			}
			return tx.CancelTimers(ctx, id)
		})
		w.Schedule(deadline.Add(time.Hour), func(ctx context.Context, w *World) { w.recipientVisit(ctx, idx) })
		return true, err
	})
	if by["pickup_after_deadline"] == 0 {
		t.Errorf("no pickup_after_deadline violation: %v", by)
	}
}

// Ensure a doorstep shipment's attempts raised behind the service's back
// beyond what happened are caught.
func TestFaultDoorstepAttempts(t *testing.T) {
	t.Parallel()
	cfg := faultConfig(t)
	dc := DefaultDoorstep(20)
	dc.AbsentShare = 1 // every attempt fails
	door := NewDoorstep(dc)
	by := faultRun(t, cfg, filepath.Join(t.TempDir(), "sim.db"), []Actor{door}, func(ctx context.Context, w *World) (bool, error) {
		door.mu.Lock()
		id := ""
		for i := range door.recs {
			if door.recs[i].state == dRescheduled {
				id = door.recs[i].id()
				break
			}
		}
		door.mu.Unlock()
		if id == "" {
			return false, nil
		}
		return true, w.store.Update(ctx, func(tx parcelguard.Tx) error {
			d, err := tx.Doorstep(ctx, id)
			if err != nil {
				return err
			}
			d.Attempts += 5
			return tx.SaveDoorstep(ctx, d)
		})
	})
	if by["doorstep_attempts"] == 0 {
		t.Errorf("no doorstep_attempts violation: %v", by)
	}
}
