package nats

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard/devicemsg"
)

// Ensure an event published twice with one id is handled once, and a
// failed handler gets it again.
func TestEventsDeduplicated(t *testing.T) {
	forEachServer(t, func(t *testing.T, env testEnv) {
		cloud := connectCloud(t, env, "")
		la := connectLocker(t, env, "la")
		var mu sync.Mutex
		seen := map[string]int{}
		failed := false
		runBg(t, func(ctx context.Context) error {
			return cloud.ConsumeEvents(ctx, func(_ context.Context, ev devicemsg.Event) error {
				mu.Lock()
				defer mu.Unlock()
				if !failed {
					failed = true
					return errors.New("database down")
				}
				seen[ev.ID]++
				return nil
			})
		})
		ctx := context.Background()
		ev := newEvent("la", devicemsg.EventPickup)
		for i, wantDup := range []bool{false, true} {
			dup, err := la.PublishEvent(ctx, ev)
			if err != nil {
				t.Fatal(err)
			}
			if dup != wantDup {
				t.Fatalf("publish %d: duplicate=%v, want %v", i, dup, wantDup)
			}
		}
		marker := newEvent("la", devicemsg.AlarmTamper)
		if _, err := la.PublishEvent(ctx, marker); err != nil {
			t.Fatal(err)
		}
		eventually(t, "both events", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return seen[ev.ID] > 0 && seen[marker.ID] > 0
		})
		time.Sleep(200 * time.Millisecond)
		mu.Lock()
		defer mu.Unlock()
		if seen[ev.ID] != 1 {
			t.Fatalf("event handled %d times, want 1", seen[ev.ID])
		}
	})
}

// Ensure two cloud instances on one durable consumer handle each event
// exactly once between them.
func TestEventsSharedConsumer(t *testing.T) {
	forEachServer(t, func(t *testing.T, env testEnv) {
		var mu sync.Mutex
		seen := map[string]int{}
		by := map[int]int{}
		for i := range 2 {
			c := connectCloud(t, env, "shared")
			runBg(t, func(ctx context.Context) error {
				return c.ConsumeEvents(ctx, func(_ context.Context, ev devicemsg.Event) error {
					time.Sleep(2 * time.Millisecond) // let the other instance pull too
					mu.Lock()
					defer mu.Unlock()
					seen[ev.ID]++
					by[i]++
					return nil
				})
			})
		}
		la, lb := connectLocker(t, env, "la"), connectLocker(t, env, "lb")
		const n = 100
		for i := range n {
			l, id := la, "la"
			if i%2 == 1 {
				l, id = lb, "lb"
			}
			if _, err := l.PublishEvent(context.Background(), newEvent(id, devicemsg.EventDoorOpened)); err != nil {
				t.Fatal(err)
			}
		}
		eventually(t, "all events", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(seen) == n
		})
		time.Sleep(200 * time.Millisecond)
		mu.Lock()
		defer mu.Unlock()
		for id, c := range seen {
			if c != 1 {
				t.Errorf("event %s handled %d times", id, c)
			}
		}
		t.Logf("events per instance: %v", by)
	})
}

// Ensure an event whose body names another locker than its subject never
// reaches the handler.
func TestEventSpoofRejected(t *testing.T) {
	env := startEmbedded(t, false)
	cloud := connectCloud(t, env, "")
	la := connectLocker(t, env, "la")
	got := make(chan devicemsg.Event, 10)
	runBg(t, func(ctx context.Context) error {
		return cloud.ConsumeEvents(ctx, func(_ context.Context, ev devicemsg.Event) error { got <- ev; return nil })
	})
	spoof, _ := devicemsg.EncodeEvent(newEvent("lb", devicemsg.EventPickup))
	if _, err := la.js.Publish(context.Background(), EventSubject("la", devicemsg.EventPickup), spoof); err != nil {
		t.Fatal(err)
	}
	good := newEvent("la", devicemsg.EventPickup)
	if _, err := la.PublishEvent(context.Background(), good); err != nil {
		t.Fatal(err)
	}
	if ev := <-got; ev.ID != good.ID || ev.LockerID != "la" {
		t.Fatalf("handler got %+v, want only the genuine event", ev)
	}
}

func signedCommand(t *testing.T, priv ed25519.PrivateKey, lockerID, compartment string) devicemsg.SignedCommand {
	t.Helper()
	now := time.Now()
	c := devicemsg.Command{ID: "cmd_" + devicemsg.NewNonce().String()[:12], LockerID: lockerID, Kind: devicemsg.CommandDoorOpen,
		Nonce: devicemsg.NewNonce(), IssuedAt: now, ExpiresAt: now.Add(5 * time.Minute),
		DoorOpen: &devicemsg.DoorOpen{Compartment: compartment, Reason: "test"}}
	s, err := devicemsg.Sign(c, "k1", priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Ensure commands reach only their locker's consumer, verify there, and
// wait in the stream while the locker is disconnected.
func TestCommandsDurable(t *testing.T) {
	forEachServer(t, func(t *testing.T, env testEnv) {
		ctx := context.Background()
		pub, priv, _ := ed25519.GenerateKey(nil)
		cloud := connectCloud(t, env, "")
		if err := cloud.PublishCommand(ctx, "la", signedCommand(t, priv, "lb", "B1")); err == nil {
			t.Fatal("command for lb published to la")
		}
		for _, c := range []struct{ locker, comp string }{{"la", "A1"}, {"lb", "B1"}, {"la", "A2"}} {
			if err := cloud.PublishCommand(ctx, c.locker, signedCommand(t, priv, c.locker, c.comp)); err != nil {
				t.Fatal(err)
			}
		}
		verifier, err := devicemsg.NewVerifier("la", map[string]ed25519.PublicKey{"k1": pub}, devicemsg.NewMemoryNonceStore(time.Now), time.Now)
		if err != nil {
			t.Fatal(err)
		}
		receive := func(want int) []string {
			l, err := ConnectLocker(env.url, "la", env.lockers["la"], nil)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			var mu sync.Mutex
			var comps []string
			cctx, cancel := context.WithCancel(ctx)
			done := make(chan error)
			go func() {
				done <- l.Commands(cctx, func(ctx context.Context, sc devicemsg.SignedCommand) error {
					c, err := verifier.Verify(ctx, sc)
					if err != nil {
						return errors.Join(ErrReject, err)
					}
					mu.Lock()
					comps = append(comps, c.DoorOpen.Compartment)
					mu.Unlock()
					return nil
				})
			}()
			eventually(t, fmt.Sprintf("%d commands", want), func() bool { mu.Lock(); defer mu.Unlock(); return len(comps) >= want })
			time.Sleep(200 * time.Millisecond)
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			return comps
		}
		if got := receive(2); len(got) != 2 || got[0] != "A1" || got[1] != "A2" {
			t.Fatalf("la got %v, want [A1 A2]", got)
		}
		// Published while la is offline: delivered on reconnect, once.
		if err := cloud.PublishCommand(ctx, "la", signedCommand(t, priv, "la", "A3")); err != nil {
			t.Fatal(err)
		}
		if got := receive(1); len(got) != 1 || got[0] != "A3" {
			t.Fatalf("la got %v after reconnect, want [A3]", got)
		}
	})
}
