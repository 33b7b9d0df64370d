package storetest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/parcelguard/parcelguard"
)

// errAbort is what Update fns return to roll back on purpose.
var errAbort = errors.New("storetest: abort")

func testUpdate(t *testing.T, open Opener) {
	// Ensure a transaction reads its own writes, before committing them.
	t.Run("ReadOwnWrites", func(t *testing.T) {
		s := open(t)
		update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			check(tx.CreateSite(ctx, newSite("site-1")))
			got, err := tx.Site(ctx, "site-1")
			check(err)
			if got.Name != newSite("site-1").Name {
				check(fmt.Errorf("read %+v", got))
			}
			check(tx.AppendEvent(ctx, newEvent("site:a", 1)))
			evs, err := tx.Events(ctx, parcelguard.EventFilter{Stream: "site:a"})
			check(err)
			if len(evs) != 1 {
				check(fmt.Errorf("read %d events of my own, want 1", len(evs)))
			}
			return nil
		})
	})

	// Ensure fn's error comes back as is, and none of fn's writes, events
	// included, survive it.
	t.Run("Atomic", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		err := tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			check(tx.CreateSite(ctx, newSite("site-x")))
			p := *w.parcel
			check(p.Transition(parcelguard.ParcelReserved, t0))
			check(tx.SaveParcel(ctx, &p))
			check(tx.AppendEvent(ctx, newEvent("site:a", 1)))
			check(tx.ScheduleTimer(ctx, &parcelguard.Timer{ID: "tm-1", Kind: parcelguard.TimerExpiry, ParcelID: p.ID, DueAt: t0}))
			return fmt.Errorf("use case failed: %w", errAbort)
		})
		wantErr(t, err, errAbort)
		view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			_, err := tx.Site(ctx, "site-x")
			wantErr(t, err, parcelguard.ErrNotFound)
			p, err := tx.Parcel(ctx, w.parcel.ID)
			noErr(t, err)
			equal(t, p, w.parcel)
			streams, err := tx.Streams(ctx)
			noErr(t, err)
			evs, err := tx.Events(ctx, parcelguard.EventFilter{})
			noErr(t, err)
			timers, err := tx.DueTimers(ctx, t0, 0)
			noErr(t, err)
			if len(streams)+len(evs)+len(timers) != 0 {
				t.Fatalf("rolled back Update left %d streams, %d events, %d timers", len(streams), len(evs), len(timers))
			}
			return nil
		})
	})

	// Ensure a context that is done before fn starts stops fn from running.
	t.Run("ContextCanceled", func(t *testing.T) {
		s := open(t)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		var ran atomic.Bool
		err := s.Update(ctx, func(tx parcelguard.Tx) error {
			ran.Store(true)
			return tx.CreateSite(ctx, newSite("site-1"))
		})
		wantErr(t, err, context.Canceled)
		if ran.Load() {
			t.Fatal("fn ran under a canceled context")
		}
		view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			_, err := tx.Site(ctx, "site-1")
			wantErr(t, err, parcelguard.ErrNotFound)
			return nil
		})
	})

	// Ensure concurrent Updates succeed or fail each on its own, even if an
	// engine commits them together: exactly the successful ones persist,
	// and their events form one unbroken chain.
	t.Run("ConcurrentRollback", func(t *testing.T) {
		s := open(t)
		const n = 50
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				errs[i] = tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
					check(tx.CreateSite(ctx, newSite(fmt.Sprintf("site-%03d", i))))
					e := newEvent(parcelguard.SystemStream, i)
					e.ID = ""
					check(tx.AppendEvent(ctx, e))
					if i%5 == 0 {
						return errAbort
					}
					return nil
				})
			})
		}
		wg.Wait()
		for i, err := range errs {
			if i%5 == 0 {
				wantErr(t, err, errAbort)
			} else {
				noErr(t, err)
			}
		}
		view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			sites, err := tx.Sites(ctx, parcelguard.SiteFilter{})
			noErr(t, err)
			var want []string
			for i := range n {
				if i%5 != 0 {
					want = append(want, fmt.Sprintf("site-%03d", i))
				}
			}
			var got []string
			for _, site := range sites {
				got = append(got, site.ID)
			}
			equal(t, got, want)

			evs, err := tx.Events(ctx, parcelguard.EventFilter{Stream: parcelguard.SystemStream})
			noErr(t, err)
			checkChain(t, evs)
			var idx []string
			for _, e := range evs {
				i, _ := strconv.Atoi(e.Data["i"])
				idx = append(idx, fmt.Sprintf("site-%03d", i))
			}
			equal(t, sorted(idx), want)
			return nil
		})
	})

	// Ensure read-modify-write with optimistic versions loses no update
	// under contention: every increment that reports success counts.
	t.Run("ConcurrentCounter", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		const n = 200
		var (
			wg        sync.WaitGroup
			conflicts atomic.Int64
		)
		for range n {
			wg.Go(func() {
				for {
					err := tryUpdate(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
						g, err := tx.LockerGuard(ctx, w.site.ID)
						if err != nil {
							return err
						}
						g.Failures++
						return tx.SaveLockerGuard(ctx, g)
					})
					if errors.Is(err, parcelguard.ErrConflict) {
						conflicts.Add(1)
						continue
					}
					if err != nil {
						t.Error(err)
					}
					return
				}
			})
		}
		wg.Wait()
		view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			g, err := tx.LockerGuard(ctx, w.site.ID)
			noErr(t, err)
			if g.Failures != n || g.Version != n {
				t.Fatalf("after %d increments: Failures %d, Version %d", n, g.Failures, g.Version)
			}
			return nil
		})
		t.Logf("%d conflicts retried", conflicts.Load())
	})
}

func testView(t *testing.T, open Opener) {
	// Ensure a View sees one snapshot: a commit made while it runs is
	// invisible to it, and visible to the next View.
	t.Run("Snapshot", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		count := func(ctx context.Context, tx parcelguard.Tx) int {
			sites, err := tx.Sites(ctx, parcelguard.SiteFilter{})
			noErr(t, err)
			return len(sites)
		}
		view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			before := count(ctx, tx)
			p, err := tx.Parcel(ctx, w.parcel.ID)
			noErr(t, err)
			update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
				check(tx.CreateSite(ctx, newSite("site-new")))
				p := *w.parcel
				check(p.Transition(parcelguard.ParcelCancelled, t0))
				return tx.SaveParcel(ctx, &p)
			})
			if after := count(ctx, tx); after != before {
				t.Fatalf("View saw %d sites, then %d after a concurrent commit", before, after)
			}
			again, err := tx.Parcel(ctx, w.parcel.ID)
			noErr(t, err)
			equal(t, again, p)
			return nil
		})
		view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			if got := count(ctx, tx); got != 3 {
				t.Fatalf("next View sees %d sites, want 3", got)
			}
			return nil
		})
	})

	// Ensure a View cannot write.
	t.Run("ReadOnly", func(t *testing.T) {
		s := open(t)
		err := s.View(t.Context(), func(tx parcelguard.Tx) error {
			return tx.CreateSite(t.Context(), newSite("site-1"))
		})
		if err == nil {
			t.Fatal("CreateSite in a View succeeded")
		}
		view(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
			_, err := tx.Site(ctx, "site-1")
			wantErr(t, err, parcelguard.ErrNotFound)
			return nil
		})
	})

	// Ensure Ping answers on an open store.
	t.Run("Ping", func(t *testing.T) {
		noErr(t, open(t).Ping(t.Context()))
	})
}
