package storetest

import (
	"context"
	"testing"

	"github.com/parcelguard/parcelguard"
)

func testCompartments(t *testing.T, open Opener) {
	t.Run("CreateCompartment", func(t *testing.T) {
		// Ensure a created compartment gets Version 1 and reads back intact.
		t.Run("OK", func(t *testing.T) {
			s := open(t)
			w := seed(t, s)
			want := newCompartment("cmp-9", w.site.ID, "B07", parcelguard.SizeXL)
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.CreateCompartment(ctx, want) })
			if want.Version != 1 {
				t.Fatalf("Version = %d after create, want 1", want.Version)
			}
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				got, err := tx.Compartment(ctx, "cmp-9")
				noErr(t, err)
				equal(t, got, want)
				return nil
			})
		})

		// Ensure ids are unique, and labels unique within a site.
		t.Run("ErrDuplicate", func(t *testing.T) {
			s := open(t)
			w := seed(t, s)
			err := tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				return tx.CreateCompartment(ctx, newCompartment(w.compartment.ID, w.site.ID, "Z99", parcelguard.SizeS))
			})
			wantErr(t, err, parcelguard.ErrDuplicate)
			err = tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				return tx.CreateCompartment(ctx, newCompartment("cmp-new", w.site.ID, w.compartment.Label, parcelguard.SizeS))
			})
			wantErr(t, err, parcelguard.ErrDuplicate)
			// The same label at another site is fine.
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				return tx.CreateCompartment(ctx, newCompartment("cmp-new", w.site2.ID, w.compartment.Label, parcelguard.SizeS))
			})
		})

		// Ensure a compartment of an unknown site is rejected as ErrNotFound.
		t.Run("ErrNotFound", func(t *testing.T) {
			s := open(t)
			err := tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				return tx.CreateCompartment(ctx, newCompartment("cmp-1", "no-site", "A01", parcelguard.SizeS))
			})
			wantErr(t, err, parcelguard.ErrNotFound)
		})
	})

	t.Run("Compartment", func(t *testing.T) {
		// Ensure an unknown compartment id is ErrNotFound.
		t.Run("ErrNotFound", func(t *testing.T) {
			s := open(t)
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				_, err := tx.Compartment(ctx, "nope")
				wantErr(t, err, parcelguard.ErrNotFound)
				return nil
			})
		})
	})

	t.Run("Compartments", func(t *testing.T) {
		// Ensure a site's compartments, and only those, come back by label.
		t.Run("OK", func(t *testing.T) {
			s := open(t)
			w := seed(t, s)
			b := newCompartment("cmp-b", w.site.ID, "B01", parcelguard.SizeS)
			a := newCompartment("cmp-a", w.site.ID, "A02", parcelguard.SizeL)
			other := newCompartment("cmp-o", w.site2.ID, "A00", parcelguard.SizeL)
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				for _, c := range []*parcelguard.Compartment{b, a, other} {
					check(tx.CreateCompartment(ctx, c))
				}
				return nil
			})
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				got, err := tx.Compartments(ctx, w.site.ID)
				noErr(t, err)
				equal(t, got, []*parcelguard.Compartment{w.compartment, a, b})
				return nil
			})
		})
	})

	t.Run("FreeCompartment", func(t *testing.T) {
		// Ensure the smallest free compartment that fits is chosen, lowest
		// label first, never a busy one or one of another site.
		t.Run("OK", func(t *testing.T) {
			s := open(t)
			w := seed(t, s) // cmp-1 "A01" M, free
			cs := []*parcelguard.Compartment{
				newCompartment("c-l", w.site.ID, "A02", parcelguard.SizeL),
				newCompartment("c-s", w.site.ID, "A03", parcelguard.SizeS),
				newCompartment("c-m", w.site.ID, "A00", parcelguard.SizeM),
				newCompartment("c-xl", w.site.ID, "A05", parcelguard.SizeXL),
				newCompartment("c-other-s", w.site2.ID, "A01", parcelguard.SizeS),
			}
			cs[1].State = parcelguard.CompartmentOccupied // the only S is busy
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				for _, c := range cs {
					check(tx.CreateCompartment(ctx, c))
				}
				return nil
			})
			for size, want := range map[parcelguard.SizeClass]string{
				parcelguard.SizeS:  "c-m", // no free S: the smallest M, lowest label (A00 < A01)
				parcelguard.SizeM:  "c-m",
				parcelguard.SizeL:  "c-l",
				parcelguard.SizeXL: "c-xl",
			} {
				view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
					got, err := tx.FreeCompartment(ctx, w.site.ID, size)
					noErr(t, err)
					if got.ID != want {
						t.Errorf("FreeCompartment(%s) = %s, want %s", size, got.ID, want)
					}
					return nil
				})
			}
		})

		// Ensure ErrNoFreeCompartment when nothing free fits.
		t.Run("ErrNoFreeCompartment", func(t *testing.T) {
			s := open(t)
			w := seed(t, s) // only cmp-1, M
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				_, err := tx.FreeCompartment(ctx, w.site.ID, parcelguard.SizeL)
				wantErr(t, err, parcelguard.ErrNoFreeCompartment)
				return nil
			})
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				c, err := tx.Compartment(ctx, w.compartment.ID)
				check(err)
				check(c.Reserve(w.parcel.ID))
				return tx.SaveCompartment(ctx, c)
			})
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				_, err := tx.FreeCompartment(ctx, w.site.ID, parcelguard.SizeS)
				wantErr(t, err, parcelguard.ErrNoFreeCompartment)
				return nil
			})
		})
	})

	t.Run("SaveCompartment", func(t *testing.T) {
		// Ensure a save persists every field and bumps Version.
		t.Run("OK", func(t *testing.T) {
			s := open(t)
			w := seed(t, s)
			c := *w.compartment
			noErr(t, c.Reserve(w.parcel.ID))
			c.Label, c.WidthMM = "A01b", 390
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.SaveCompartment(ctx, &c) })
			if c.Version != 2 {
				t.Fatalf("Version = %d after save, want 2", c.Version)
			}
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				got, err := tx.Compartment(ctx, c.ID)
				noErr(t, err)
				equal(t, got, &c)
				return nil
			})
			// Releasing clears the parcel reference again.
			c.Release(w.parcel.ID)
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.SaveCompartment(ctx, &c) })
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				got, err := tx.Compartment(ctx, c.ID)
				noErr(t, err)
				equal(t, got, &c)
				return nil
			})
		})

		// Ensure saving a stale copy is ErrConflict and changes nothing.
		t.Run("ErrConflict", func(t *testing.T) {
			s := open(t)
			w := seed(t, s)
			fresh, stale := *w.compartment, *w.compartment
			fresh.State = parcelguard.CompartmentBlocked
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.SaveCompartment(ctx, &fresh) })
			stale.State = parcelguard.CompartmentOutOfOrder
			err := tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.SaveCompartment(ctx, &stale) })
			wantErr(t, err, parcelguard.ErrConflict)
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				got, err := tx.Compartment(ctx, fresh.ID)
				noErr(t, err)
				equal(t, got, &fresh)
				return nil
			})
		})

		// Ensure saving a compartment that does not exist is ErrNotFound.
		t.Run("ErrNotFound", func(t *testing.T) {
			s := open(t)
			w := seed(t, s)
			c := newCompartment("ghost", w.site.ID, "G01", parcelguard.SizeS)
			c.Version = 1
			err := tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.SaveCompartment(ctx, c) })
			wantErr(t, err, parcelguard.ErrNotFound)
		})
	})
}
