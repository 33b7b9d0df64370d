package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
)

func testParcels(t *testing.T, open Opener) {
	t.Run("CreateParcel", func(t *testing.T) {
		// Ensure created parcels get Version 1 and read back intact, both a
		// locker parcel and a doorstep one without site or compartment.
		t.Run("OK", func(t *testing.T) {
			s := open(t)
			w := seed(t, s)
			locker := newParcel("par-9", w.carrier.ID, w.site.ID, "TRK-0009")
			locker.CompartmentID = w.compartment.ID
			door := &parcelguard.Parcel{
				ID: "par-10", CarrierID: w.carrier2.ID, TrackingNumber: "DOOR-1",
				Recipient: parcelguard.Recipient{Name: "Jan", Phone: "+48600100201"},
				Size:      parcelguard.SizeXL, Mode: parcelguard.HandoverDoorstep, State: parcelguard.ParcelAnnounced,
				CreatedAt: t0, UpdatedAt: t0,
			}
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				check(tx.CreateParcel(ctx, locker))
				return tx.CreateParcel(ctx, door)
			})
			if locker.Version != 1 || door.Version != 1 {
				t.Fatalf("Versions = %d, %d after create, want 1", locker.Version, door.Version)
			}
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				for _, want := range []*parcelguard.Parcel{locker, door} {
					got, err := tx.Parcel(ctx, want.ID)
					noErr(t, err)
					equal(t, got, want)
				}
				return nil
			})
		})

		// Ensure ids are unique, and tracking numbers unique per carrier.
		t.Run("ErrDuplicate", func(t *testing.T) {
			s := open(t)
			w := seed(t, s)
			err := tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				return tx.CreateParcel(ctx, newParcel(w.parcel.ID, w.carrier.ID, w.site.ID, "TRK-OTHER"))
			})
			wantErr(t, err, parcelguard.ErrDuplicate)
			err = tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				return tx.CreateParcel(ctx, newParcel("par-new", w.carrier.ID, w.site.ID, w.parcel.TrackingNumber))
			})
			wantErr(t, err, parcelguard.ErrDuplicate)
			// Another carrier may reuse the tracking number.
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				return tx.CreateParcel(ctx, newParcel("par-new", w.carrier2.ID, w.site.ID, w.parcel.TrackingNumber))
			})
		})

		// Ensure a parcel of an unknown carrier or site is ErrNotFound.
		t.Run("ErrNotFound", func(t *testing.T) {
			s := open(t)
			w := seed(t, s)
			err := tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				return tx.CreateParcel(ctx, newParcel("par-x", "no-carrier", w.site.ID, "TRK-X"))
			})
			wantErr(t, err, parcelguard.ErrNotFound)
			err = tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				return tx.CreateParcel(ctx, newParcel("par-x", w.carrier.ID, "no-site", "TRK-X"))
			})
			wantErr(t, err, parcelguard.ErrNotFound)
		})
	})

	t.Run("Parcel", func(t *testing.T) {
		// Ensure an unknown parcel id is ErrNotFound.
		t.Run("ErrNotFound", func(t *testing.T) {
			s := open(t)
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				_, err := tx.Parcel(ctx, "nope")
				wantErr(t, err, parcelguard.ErrNotFound)
				return nil
			})
		})
	})

	t.Run("SaveParcel", func(t *testing.T) {
		// Ensure a save persists every field and bumps Version.
		t.Run("OK", func(t *testing.T) {
			s := open(t)
			w := seed(t, s)
			p := *w.parcel
			noErr(t, p.Transition(parcelguard.ParcelReserved, t0.Add(time.Minute)))
			p.CompartmentID = w.compartment.ID
			p.Deadline = t0.Add(48 * time.Hour)
			p.Recipient.Email = ""
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.SaveParcel(ctx, &p) })
			if p.Version != 2 {
				t.Fatalf("Version = %d after save, want 2", p.Version)
			}
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				got, err := tx.Parcel(ctx, p.ID)
				noErr(t, err)
				equal(t, got, &p)
				return nil
			})
		})

		// Ensure saving a stale copy is ErrConflict and changes nothing.
		t.Run("ErrConflict", func(t *testing.T) {
			s := open(t)
			w := seed(t, s)
			fresh, stale := *w.parcel, *w.parcel
			noErr(t, fresh.Transition(parcelguard.ParcelReserved, t0.Add(time.Minute)))
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.SaveParcel(ctx, &fresh) })
			noErr(t, stale.Transition(parcelguard.ParcelCancelled, t0.Add(time.Minute)))
			err := tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.SaveParcel(ctx, &stale) })
			wantErr(t, err, parcelguard.ErrConflict)
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				got, err := tx.Parcel(ctx, fresh.ID)
				noErr(t, err)
				equal(t, got, &fresh)
				return nil
			})
		})

		// Ensure saving a parcel that does not exist is ErrNotFound.
		t.Run("ErrNotFound", func(t *testing.T) {
			s := open(t)
			w := seed(t, s)
			p := newParcel("ghost", w.carrier.ID, w.site.ID, "TRK-GHOST")
			p.Version = 1
			err := tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.SaveParcel(ctx, p) })
			wantErr(t, err, parcelguard.ErrNotFound)
		})
	})

	t.Run("Parcels", func(t *testing.T) {
		// Ensure every filter selects exactly the matching parcels, in id
		// order, and that paging with After and Limit is stable and complete.
		t.Run("OK", func(t *testing.T) {
			s := open(t)
			w := seed(t, s)
			all := []*parcelguard.Parcel{w.parcel}
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				for i := range 20 {
					carrier, site := w.carrier.ID, w.site.ID
					if i%2 == 1 {
						carrier = w.carrier2.ID
					}
					if i%3 == 0 {
						site = w.site2.ID
					}
					p := newParcel(fmt.Sprintf("par-%03d", 100-i), carrier, site, fmt.Sprintf("TRK-%04d", 100+i))
					if i%4 == 0 {
						p.State = parcelguard.ParcelReserved
					}
					if err := tx.CreateParcel(ctx, p); err != nil {
						return err
					}
					all = append(all, p)
				}
				return nil
			})
			match := func(f parcelguard.ParcelFilter) []*parcelguard.Parcel {
				var out []*parcelguard.Parcel
				for _, p := range all {
					if (f.CarrierID == "" || p.CarrierID == f.CarrierID) && (f.SiteID == "" || p.SiteID == f.SiteID) &&
						(f.State == "" || p.State == f.State) && (f.TrackingNumber == "" || p.TrackingNumber == f.TrackingNumber) {
						out = append(out, p)
					}
				}
				sortByID(out)
				return out
			}
			filters := []parcelguard.ParcelFilter{
				{},
				{CarrierID: w.carrier2.ID},
				{SiteID: w.site2.ID},
				{State: parcelguard.ParcelReserved},
				{TrackingNumber: "TRK-0105"},
				{CarrierID: w.carrier.ID, SiteID: w.site.ID, State: parcelguard.ParcelAnnounced},
				{CarrierID: "nobody"},
			}
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				for _, f := range filters {
					got, err := tx.Parcels(ctx, f)
					noErr(t, err)
					equal(t, got, match(f))

					var paged []*parcelguard.Parcel
					for page := f; ; {
						page.Limit = 3
						got, err := tx.Parcels(ctx, page)
						noErr(t, err)
						if len(got) > 3 {
							t.Fatalf("page of %d parcels, limit 3", len(got))
						}
						if len(got) == 0 {
							break
						}
						paged = append(paged, got...)
						page.After = got[len(got)-1].ID
					}
					equal(t, paged, match(f))
				}
				return nil
			})
		})
	})
}
