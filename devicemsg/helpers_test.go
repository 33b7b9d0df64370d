package devicemsg

import (
	"crypto/ed25519"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

func testEvent() Event {
	return Event{ID: "evt_01jd0000000000000000000000", LockerID: "site_a", Seq: 1, At: t0,
		Kind: EventPickup, Compartment: "A12", GrantIDs: []string{"grt_1"}, Data: map[string]string{"parcel": "par_1"}}
}

func testCommand() Command {
	return Command{ID: "cmd_1", LockerID: "site_a", Kind: CommandDoorOpen, Nonce: NewNonce(),
		IssuedAt: t0, ExpiresAt: t0.Add(2 * time.Minute),
		DoorOpen: &DoorOpen{Compartment: "A12", Reason: "recipient on hotline, door jammed"}}
}

func testKey(tb testing.TB) (ed25519.PublicKey, ed25519.PrivateKey) {
	tb.Helper()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		tb.Fatal(err)
	}
	return pub, priv
}
