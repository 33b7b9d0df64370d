package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/parcelguard/parcelguard"
)

func testSites(t *testing.T, open Opener) {
	t.Run("CreateSite", func(t *testing.T) {
		// Ensure a created site reads back with every field intact.
		t.Run("OK", func(t *testing.T) {
			s := open(t)
			want := newSite("site-1")
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.CreateSite(ctx, want) })
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				got, err := tx.Site(ctx, "site-1")
				noErr(t, err)
				equal(t, got, want)
				return nil
			})
		})

		// Ensure a second site with the same id is rejected.
		t.Run("ErrDuplicate", func(t *testing.T) {
			s := open(t)
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.CreateSite(ctx, newSite("site-1")) })
			err := tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error { return tx.CreateSite(ctx, newSite("site-1")) })
			wantErr(t, err, parcelguard.ErrDuplicate)
		})
	})

	t.Run("Site", func(t *testing.T) {
		// Ensure an unknown site id is ErrNotFound.
		t.Run("ErrNotFound", func(t *testing.T) {
			s := open(t)
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				_, err := tx.Site(ctx, "nope")
				wantErr(t, err, parcelguard.ErrNotFound)
				return nil
			})
		})
	})

	t.Run("Sites", func(t *testing.T) {
		// Ensure listing pages through every site in id order.
		t.Run("OK", func(t *testing.T) {
			s := open(t)
			var want []*parcelguard.Site
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				for i := 5; i >= 1; i-- { // insert out of order
					if err := tx.CreateSite(ctx, newSite(fmt.Sprintf("site-%d", i))); err != nil {
						return err
					}
				}
				return nil
			})
			for i := 1; i <= 5; i++ {
				site := newSite(fmt.Sprintf("site-%d", i))
				site.Version = 1 // as created
				want = append(want, site)
			}
			view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				all, err := tx.Sites(ctx, parcelguard.SiteFilter{})
				noErr(t, err)
				equal(t, all, want)

				var paged []*parcelguard.Site
				after := ""
				for {
					page, err := tx.Sites(ctx, parcelguard.SiteFilter{After: after, Limit: 2})
					noErr(t, err)
					if len(page) == 0 {
						break
					}
					if len(page) > 2 {
						t.Fatalf("page of %d sites, limit 2", len(page))
					}
					paged = append(paged, page...)
					after = page[len(page)-1].ID
				}
				equal(t, paged, want)
				return nil
			})
		})
	})
}
