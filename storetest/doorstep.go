package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
)

// doorstepParcel creates a doorstep parcel of the world's first carrier
// with its delivery record for date and returns both.
func doorstepParcel(ctx context.Context, tx parcelguard.Tx, w *world, id string, date parcelguard.DeliveryDate, seq int) (*parcelguard.Parcel, *parcelguard.Doorstep) {
	p := newParcel(id, w.carrier.ID, "", "DS-"+id)
	p.Mode, p.SiteID, p.Deadline = parcelguard.HandoverDoorstep, "", time.Time{}
	check(tx.CreateParcel(ctx, p))
	d := &parcelguard.Doorstep{ParcelID: id, CarrierID: w.carrier.ID, Address: "Hauptstr. 5, 10115 Berlin",
		Lat: 52.53, Lon: 13.38, TimeZone: "Europe/Berlin", Country: "DE", PasswordReason: parcelguard.ReasonValue,
		Date: date, RouteSeq: seq, CreatedAt: t0, UpdatedAt: t0}
	check(tx.CreateDoorstep(ctx, d))
	return p, d
}

func testDoorstep(t *testing.T, open Opener) {
	day := parcelguard.DeliveryDate{Year: 2026, Month: 3, Day: 3}

	// Ensure a policy is created at Version 0, updated when current, and
	// conflicts when stale; a missing one is ErrNotFound.
	t.Run("Policy", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			_, err := tx.DoorstepPolicy(ctx, w.carrier.ID)
			wantErr(t, err, parcelguard.ErrNotFound)
			return nil
		})
		p := parcelguard.DefaultDoorstepPolicy(w.carrier.ID)
		p.ValueThreshold, p.Currency, p.Categories, p.UpdatedAt = 50000, "EUR", []string{"jewellery", "phones"}, t0
		update(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.SaveDoorstepPolicy(ctx, p) })
		if p.Version != 1 {
			t.Fatalf("version %d after create", p.Version)
		}
		stale := *p
		p.Fallback, p.MaxAttempts, p.ShipmentFlag = parcelguard.FallbackReturn, 5, false
		update(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.SaveDoorstepPolicy(ctx, p) })
		view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			got, err := tx.DoorstepPolicy(ctx, w.carrier.ID)
			noErr(t, err)
			equal(t, got, p)
			return nil
		})
		wantErr(t, tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.SaveDoorstepPolicy(ctx, &stale) }),
			parcelguard.ErrConflict)
		again := parcelguard.DefaultDoorstepPolicy(w.carrier.ID)
		wantErr(t, tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.SaveDoorstepPolicy(ctx, again) }),
			parcelguard.ErrDuplicate)
	})

	// Ensure a delivery record round-trips, saves with a version check, and
	// lists a carrier's day in route order (unsequenced last).
	t.Run("Record", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		var recs []*parcelguard.Doorstep
		update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			for i, seq := range []int{0, 3, 1, 2} {
				_, d := doorstepParcel(ctx, tx, w, fmt.Sprintf("ds-%d", i), day, seq)
				recs = append(recs, d)
			}
			_, other := doorstepParcel(ctx, tx, w, "ds-other-day", day.AddDays(1), 1)
			_ = other
			return nil
		})
		wantErr(t, tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			return tx.CreateDoorstep(ctx, &parcelguard.Doorstep{ParcelID: "ds-0", CarrierID: w.carrier.ID, Address: "x",
				TimeZone: "UTC", Country: "DE", CreatedAt: t0, UpdatedAt: t0})
		}), parcelguard.ErrDuplicate)
		d := recs[1]
		d.Attempts, d.Failures, d.Locked, d.LastReason = 2, 5, true, parcelguard.ReasonWrongPassword
		d.Date, d.UpdatedAt = day.AddDays(2), t0.Add(time.Hour)
		stale := *d
		update(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.SaveDoorstep(ctx, d) })
		wantErr(t, tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.SaveDoorstep(ctx, &stale) }),
			parcelguard.ErrConflict)
		view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			got, err := tx.Doorstep(ctx, d.ParcelID)
			noErr(t, err)
			equal(t, got, d)
			_, err = tx.Doorstep(ctx, "nope")
			wantErr(t, err, parcelguard.ErrNotFound)
			list, err := tx.Doorsteps(ctx, parcelguard.DoorstepFilter{CarrierID: w.carrier.ID, Date: day})
			noErr(t, err)
			var ids []string
			for _, r := range list {
				ids = append(ids, r.ParcelID)
			}
			equal(t, ids, []string{"ds-2", "ds-3", "ds-0"})
			none, err := tx.Doorsteps(ctx, parcelguard.DoorstepFilter{CarrierID: w.carrier2.ID, Date: day})
			noErr(t, err)
			equal(t, len(none), 0)
			return nil
		})
	})

	// Ensure passwords round-trip with their hashes and dates, list oldest
	// first, and save with a version check.
	t.Run("Password", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		var a, b *parcelguard.DoorstepPassword
		update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			doorstepParcel(ctx, tx, w, "ds-1", day, 1)
			a = &parcelguard.DoorstepPassword{ID: "dpw-a", ParcelID: "ds-1", Holder: parcelguard.HolderRecipient,
				State: parcelguard.GrantActive, KeyID: "k1", CodeHash: codeHash("111111"), CodeSealed: []byte("sealed"),
				Date: day, NotBefore: t0, ExpiresAt: t0.Add(14 * time.Hour), CreatedAt: t0}
			b = &parcelguard.DoorstepPassword{ID: "dpw-b", ParcelID: "ds-1", Holder: parcelguard.HolderDelegate,
				DelegateName: "Jan Kowalski", State: parcelguard.GrantActive, KeyID: "k1", CodeHash: codeHash("222222"),
				Date: day, NotBefore: t0, ExpiresAt: t0.Add(14 * time.Hour), CreatedAt: t0.Add(time.Minute)}
			check(tx.CreateDoorstepPassword(ctx, a))
			return tx.CreateDoorstepPassword(ctx, b)
		})
		stale := *a
		a.State, a.UsedAt = parcelguard.GrantUsed, t0.Add(time.Hour)
		update(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.SaveDoorstepPassword(ctx, a) })
		wantErr(t, tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.SaveDoorstepPassword(ctx, &stale) }),
			parcelguard.ErrConflict)
		view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			got, err := tx.DoorstepPassword(ctx, "dpw-a")
			noErr(t, err)
			equal(t, got, a)
			all, err := tx.DoorstepPasswords(ctx, "ds-1")
			noErr(t, err)
			equal(t, all, []*parcelguard.DoorstepPassword{a, b})
			_, err = tx.DoorstepPassword(ctx, "nope")
			wantErr(t, err, parcelguard.ErrNotFound)
			return nil
		})
	})

	// Ensure a parcel has at most one proof and it round-trips.
	t.Run("Proof", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		p := &parcelguard.DoorstepProof{ParcelID: "ds-1", Holder: parcelguard.HolderDelegate, DelegateName: "Jan",
			PasswordID: "dpw-b", Courier: "courier:c1/pgk_x", Lat: 52.5301, Lon: 13.3801, DistanceM: 13.2,
			At: t0, Offline: true, RecordedAt: t0.Add(-time.Hour)}
		update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			doorstepParcel(ctx, tx, w, "ds-1", day, 1)
			return tx.CreateDoorstepProof(ctx, p)
		})
		wantErr(t, tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.CreateDoorstepProof(ctx, p) }),
			parcelguard.ErrDuplicate)
		view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			got, err := tx.DoorstepProof(ctx, "ds-1")
			noErr(t, err)
			equal(t, got, p)
			_, err = tx.DoorstepProof(ctx, "nope")
			wantErr(t, err, parcelguard.ErrNotFound)
			return nil
		})
	})

	// Ensure offline entries round-trip, filter by state, carrier and
	// parcel, page by cursor, and save with a version check.
	t.Run("Offline", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		var es []*parcelguard.OfflineEntry
		update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			doorstepParcel(ctx, tx, w, "ds-1", day, 1)
			for i := range 3 {
				e := &parcelguard.OfflineEntry{ID: fmt.Sprintf("off-%d", i), ParcelID: "ds-1", CarrierID: w.carrier.ID,
					Courier: "courier:c1/pgk_x", KeyID: "k1", CodeHash: codeHash("123456"), Lat: 52.53, Lon: 13.38,
					RecordedAt: t0, State: parcelguard.OfflinePending, CreatedAt: t0}
				check(tx.CreateOfflineEntry(ctx, e))
				es = append(es, e)
			}
			return nil
		})
		e := es[1]
		stale := *e
		e.State, e.Problems, e.VerifiedAt = parcelguard.OfflineMismatch, []string{"password", "position"}, t0.Add(time.Hour)
		update(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.SaveOfflineEntry(ctx, e) })
		wantErr(t, tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.SaveOfflineEntry(ctx, &stale) }),
			parcelguard.ErrConflict)
		view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			got, err := tx.OfflineEntry(ctx, e.ID)
			noErr(t, err)
			equal(t, got, e)
			mis, err := tx.OfflineEntries(ctx, parcelguard.OfflineFilter{State: parcelguard.OfflineMismatch})
			noErr(t, err)
			equal(t, mis, []*parcelguard.OfflineEntry{e})
			page, err := tx.OfflineEntries(ctx, parcelguard.OfflineFilter{CarrierID: w.carrier.ID, ParcelID: "ds-1", After: "off-0", Limit: 1})
			noErr(t, err)
			equal(t, page, []*parcelguard.OfflineEntry{e})
			none, err := tx.OfflineEntries(ctx, parcelguard.OfflineFilter{CarrierID: w.carrier2.ID})
			noErr(t, err)
			equal(t, len(none), 0)
			return nil
		})
	})
}
