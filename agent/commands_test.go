package agent_test

import (
	"crypto/ed25519"
	"errors"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/agent"
	"github.com/parcelguard/parcelguard/devicemsg"
	pgnats "github.com/parcelguard/parcelguard/nats"
)

// Ensure the agent accepts a command only when signed by a cloud key, for
// this locker, unexpired and not seen before, and that a remote open opens
// exactly the named door without a forced-open alarm.
func TestCommandsRefused(t *testing.T) {
	w := newWorld(t, false)
	w.stopAg() // drive the agent by hand
	priv, err := w.keys.SigningKey(w.keys.CurrentID())
	if err != nil {
		t.Fatal(err)
	}
	_, stranger, _ := ed25519.GenerateKey(nil)
	comp := w.prov.Compartments[1]
	now := w.clock.Now()
	open := func(mod func(c *devicemsg.Command)) devicemsg.Command {
		c := devicemsg.Command{ID: parcelguard.NewID("cmd", now), LockerID: w.site.ID, Kind: devicemsg.CommandDoorOpen,
			Nonce: devicemsg.NewNonce(), IssuedAt: now, ExpiresAt: now.Add(time.Minute),
			DoorOpen: &devicemsg.DoorOpen{Compartment: comp.ID, Reason: "operator helps"}}
		if mod != nil {
			mod(&c)
		}
		return c
	}
	sign := func(c devicemsg.Command, key ed25519.PrivateKey) devicemsg.SignedCommand {
		sc, err := devicemsg.Sign(c, w.keys.CurrentID(), key)
		if err != nil {
			t.Fatal(err)
		}
		return sc
	}
	good := sign(open(nil), priv)
	if err := w.agent.PollDoors(w.ctx); err != nil { // the monitor's first look: all shut
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		sc   devicemsg.SignedCommand
		want error
	}{
		{"forged", sign(open(nil), stranger), devicemsg.ErrSignature},
		{"other locker", sign(open(func(c *devicemsg.Command) { c.LockerID = "site_other" }), priv), devicemsg.ErrAudience},
		{"expired", sign(open(func(c *devicemsg.Command) {
			c.IssuedAt, c.ExpiresAt = now.Add(-2*time.Minute), now.Add(-time.Second)
		}), priv), devicemsg.ErrExpired},
		{"from the future", sign(open(func(c *devicemsg.Command) {
			c.IssuedAt, c.ExpiresAt = now.Add(time.Hour), now.Add(time.Hour+time.Minute)
		}), priv), devicemsg.ErrNotYetValid},
		{"unknown compartment", sign(open(func(c *devicemsg.Command) { c.DoorOpen.Compartment = "cmp_nope" }), priv), agent.ErrRefused},
		{"unknown setting", sign(open(func(c *devicemsg.Command) {
			c.Kind, c.DoorOpen, c.Config = devicemsg.CommandConfig, nil, &devicemsg.Config{Settings: map[string]string{"open_all": "1"}}
		}), priv), agent.ErrRefused},
		{"genuine", good, nil},
		{"replayed", good, devicemsg.ErrReplay},
	} {
		err := w.agent.HandleCommand(w.ctx, c.sc)
		if c.want == nil {
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			continue
		}
		if !errors.Is(err, c.want) || !errors.Is(err, agent.ErrRefused) || !errors.Is(err, pgnats.ErrReject) {
			t.Errorf("%s: got %v, want a refusal wrapping %v", c.name, err, c.want)
		}
	}
	for _, c := range w.prov.Compartments {
		if got, want := w.sim.DoorIsOpen(c.Lock), c.ID == comp.ID; got != want {
			t.Errorf("lock %d open=%v, want %v", c.Lock, got, want)
		}
	}
	if err := w.agent.PollDoors(w.ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := w.agent.PendingEvents(w.ctx); n != 1 {
		t.Fatalf("%d events after a remote open, want 1 (door.opened, no alarm)", n)
	}

	// A restart does not reopen the replay window: nonces are on disk.
	if err := w.agent.Close(); err != nil {
		t.Fatal(err)
	}
	a2, err := agent.New(w.ctx, agent.Config{Provisioning: w.prov, Path: w.dir + "/agent.db", Driver: w.sim, Clock: w.clock, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer a2.Close()
	if err := a2.HandleCommand(w.ctx, good); !errors.Is(err, devicemsg.ErrReplay) {
		t.Fatalf("replay after restart: %v", err)
	}
}

// Ensure the agent enforces the failure limits offline: wrong phone digits
// lock the grant after five tries, and a run of wrong PINs blocks the kiosk
// with growing delays, surviving a restart.
func TestAgentLimits(t *testing.T) {
	w := newWorld(t, false)
	_, pin, g := w.deposit("TRK-3001")
	eventually(t, "grant at the agent", func() bool { return w.agentHas(g.ID, parcelguard.GrantActive) })
	w.stopAg()
	for range parcelguard.MaxGrantFailures {
		if _, err := w.agent.Pickup(w.ctx, pin, "1111"); !errors.Is(err, parcelguard.ErrCodeRejected) {
			t.Fatalf("wrong digits: %v", err)
		}
		w.clock.Advance(time.Hour) // stay clear of the kiosk delay
	}
	if _, err := w.agent.Pickup(w.ctx, pin, "5678"); !errors.Is(err, parcelguard.ErrCodeRejected) {
		t.Fatalf("locked grant with the right digits: %v, want rejected", err)
	}
	if gr, _ := w.agent.Grant(w.ctx, g.ID); gr.State != parcelguard.GrantLocked {
		t.Fatalf("grant %s, want locked", gr.State)
	}
	w.clock.Advance(48 * time.Hour) // a quiet day resets the kiosk window
	var blocked error
	for i := 0; i < parcelguard.GuardFreeFailures+2; i++ {
		_, blocked = w.agent.Pickup(w.ctx, "000000", "")
	}
	if !errors.Is(blocked, parcelguard.ErrThrottled) {
		t.Fatalf("after %d failures: %v, want throttled", parcelguard.GuardFreeFailures+2, blocked)
	}
	w.agent.Close()
	a2, err := agent.New(w.ctx, agent.Config{Provisioning: w.prov, Path: w.dir + "/agent.db", Driver: w.sim, Clock: w.clock, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer a2.Close()
	if _, err := a2.Pickup(w.ctx, "000000", ""); !errors.Is(err, parcelguard.ErrThrottled) {
		t.Fatalf("after restart: %v, want still throttled", err)
	}
}
