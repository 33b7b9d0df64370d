package nats

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard/devicemsg"
)

// separateShards fails the test unless la and lb go to different workers
// by default: the concurrency tests need one locker to run while the
// other's handler blocks.
func separateShards(t *testing.T) {
	t.Helper()
	if shard("la", defaultEventWorkers) == shard("lb", defaultEventWorkers) {
		t.Fatal("test lockers la and lb share a worker; pick other ids")
	}
}

// Ensure each locker's events reach the handler in the order published
// while the lockers' events are interleaved.
func TestEventsOrderedPerLocker(t *testing.T) {
	forEachServer(t, func(t *testing.T, env testEnv) {
		cloud := connectCloud(t, env, "")
		lockers := map[string]*Locker{"la": connectLocker(t, env, "la"), "lb": connectLocker(t, env, "lb")}
		var mu sync.Mutex
		handled := map[string][]string{}
		runBg(t, func(ctx context.Context) error {
			return cloud.ConsumeEvents(ctx, func(_ context.Context, ev devicemsg.Event) error {
				// Uneven handling times, so that events handled out of
				// order would show.
				if ev.Seq%4 == 0 {
					time.Sleep(time.Millisecond)
				}
				mu.Lock()
				defer mu.Unlock()
				handled[ev.LockerID] = append(handled[ev.LockerID], ev.ID)
				return nil
			})
		})
		const n = 200
		published := map[string][]string{}
		for range n {
			for _, id := range testLockers {
				ev := newEvent(id, devicemsg.EventDoorOpened)
				if _, err := lockers[id].PublishEvent(context.Background(), ev); err != nil {
					t.Fatal(err)
				}
				published[id] = append(published[id], ev.ID)
			}
		}
		eventually(t, "all events", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(handled["la"]) >= n && len(handled["lb"]) >= n
		})
		mu.Lock()
		defer mu.Unlock()
		for _, id := range testLockers {
			if !slices.Equal(handled[id], published[id]) {
				t.Errorf("locker %s: events handled in order\n%v\nwant\n%v", id, handled[id], published[id])
			}
		}
	})
}

// Ensure one locker's event is handled while another locker's handler is
// still running, rather than waiting behind it.
func TestEventsConcurrentAcrossLockers(t *testing.T) {
	separateShards(t)
	env := startEmbedded(t, false)
	cloud := connectCloud(t, env, "")
	la, lb := connectLocker(t, env, "la"), connectLocker(t, env, "lb")
	aStarted, bHandled := make(chan struct{}), make(chan struct{})
	var aOnce, bOnce sync.Once
	result := make(chan error, 1)
	report := func(err error) {
		select {
		case result <- err:
		default: // a redelivery: the first result stands
		}
	}
	runBg(t, func(ctx context.Context) error {
		return cloud.ConsumeEvents(ctx, func(ctx context.Context, ev devicemsg.Event) error {
			if ev.LockerID == "lb" {
				bOnce.Do(func() { close(bHandled) })
				return nil
			}
			aOnce.Do(func() { close(aStarted) })
			select {
			case <-bHandled:
				report(nil)
				return nil
			case <-time.After(10 * time.Second):
				err := errors.New("lb's event was not handled within 10 s while la's handler ran: lockers are handled one after the other")
				report(err)
				return err
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	})
	if _, err := la.PublishEvent(context.Background(), newEvent("la", devicemsg.EventDoorOpened)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-aStarted:
	case <-time.After(10 * time.Second):
		t.Fatal("la's event never reached the handler")
	}
	if _, err := lb.PublishEvent(context.Background(), newEvent("lb", devicemsg.EventDoorOpened)); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-result:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("la's handler never finished")
	}
}

// Ensure an event whose handler returns an error wrapping ErrReject is
// terminated: handled once, never redelivered. (TestEventsDeduplicated
// covers the redelivery of an event whose handler failed.)
func TestEventHandlerRejectTerminates(t *testing.T) {
	env := startEmbedded(t, false)
	cloud := connectCloud(t, env, "")
	la := connectLocker(t, env, "la")
	var mu sync.Mutex
	calls := map[string]int{}
	runBg(t, func(ctx context.Context) error {
		return cloud.ConsumeEvents(ctx, func(_ context.Context, ev devicemsg.Event) error {
			mu.Lock()
			calls[ev.ID]++
			mu.Unlock()
			if ev.Kind == devicemsg.AlarmTamper {
				return fmt.Errorf("%w: event %s is forged", ErrReject, ev.ID)
			}
			return nil
		})
	})
	ctx := context.Background()
	bad, marker := newEvent("la", devicemsg.AlarmTamper), newEvent("la", devicemsg.EventDoorClosed)
	for _, ev := range []devicemsg.Event{bad, marker} {
		if _, err := la.PublishEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	// A nak'ed event stays pending until redelivered, so nothing pending
	// once both were handled means the rejected one was terminated.
	eventually(t, "both events settled", func() bool {
		mu.Lock()
		handled := calls[bad.ID] > 0 && calls[marker.ID] > 0
		mu.Unlock()
		if !handled {
			return false // the consumer may not even exist yet
		}
		cons, err := cloud.js.Consumer(ctx, EventsStream, DefaultEventsDurable)
		if err != nil {
			t.Fatal(err)
		}
		info, err := cons.Info(ctx)
		return err == nil && info.NumAckPending == 0 && info.NumPending == 0
	})
	mu.Lock()
	defer mu.Unlock()
	if calls[bad.ID] != 1 || calls[marker.ID] != 1 {
		t.Fatalf("rejected event handled %d times, marker %d times; want 1 and 1", calls[bad.ID], calls[marker.ID])
	}
}

// Ensure ConsumeEvents, when ctx ends, returns only after the handler
// calls under way have returned.
func TestConsumeEventsWaitsForHandlers(t *testing.T) {
	separateShards(t)
	env := startEmbedded(t, false)
	cloud := connectCloud(t, env, "")
	started := make(chan string, 10)
	release := make(chan struct{})
	var releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	var finished atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var consumeErr error
	go func() {
		defer close(done)
		consumeErr = cloud.ConsumeEvents(ctx, func(_ context.Context, ev devicemsg.Event) error {
			started <- ev.LockerID
			// Ignores ctx, like a transaction finishing its commit.
			<-release
			finished.Add(1)
			return nil
		})
	}()
	t.Cleanup(func() { cancel(); unblock(); <-done })
	for _, id := range testLockers {
		if _, err := connectLocker(t, env, id).PublishEvent(ctx, newEvent(id, devicemsg.EventDoorOpened)); err != nil {
			t.Fatal(err)
		}
	}
	for range testLockers {
		select {
		case <-started:
		case <-time.After(10 * time.Second):
			t.Fatal("the lockers' events did not reach the handler together")
		}
	}
	cancel()
	// Not returning can only be observed for a while; a correct
	// ConsumeEvents never returns here, whatever the machine's speed.
	select {
	case <-done:
		t.Fatal("ConsumeEvents returned while its handlers were running")
	case <-time.After(100 * time.Millisecond):
	}
	unblock()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("ConsumeEvents did not return after its handlers did")
	}
	if consumeErr != nil {
		t.Fatal(consumeErr)
	}
	if n := finished.Load(); n != int32(len(testLockers)) {
		t.Fatalf("ConsumeEvents returned after %d of %d handlers finished", n, len(testLockers))
	}
}
