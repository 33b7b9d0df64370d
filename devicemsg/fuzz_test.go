package devicemsg

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func FuzzDecodeEvent(f *testing.F) {
	b, _ := EncodeEvent(testEvent())
	f.Add(b)
	f.Add([]byte(`{"id":"e","locker_id":"l","seq":1,"at":"2026-01-01T00:00:00Z","kind":"alarm.tamper"}`))
	f.Add([]byte(`{"id":"e","x":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := DecodeEvent(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		roundTrip(t, b, func() ([]byte, error) { return EncodeEvent(e) }, func(b []byte) ([]byte, error) {
			e2, err := DecodeEvent(b)
			if err != nil {
				return nil, err
			}
			return EncodeEvent(e2)
		})
	})
}

func FuzzDecodeCommand(f *testing.F) {
	c := testCommand()
	b, _ := EncodeCommand(c)
	f.Add(b)
	g := Command{ID: "c", LockerID: "l", Kind: CommandGrantNew, Nonce: NewNonce(), IssuedAt: t0, ExpiresAt: t0.Add(72 * time.Hour),
		GrantNew: &GrantNew{GrantID: "g", ParcelID: "p", Compartment: "A1", Purpose: PurposePickup, KeyID: "k1", CodeHash: []byte{1, 2}, NotBefore: t0, ExpiresAt: t0.Add(72 * time.Hour)}}
	b, _ = EncodeCommand(g)
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeCommand(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if c.Kind == CommandDoorOpen && (c.DoorOpen == nil || !ValidID(c.DoorOpen.Compartment)) {
			t.Fatal("door.open without exactly one compartment accepted")
		}
		roundTrip(t, b, func() ([]byte, error) { return EncodeCommand(c) }, func(b []byte) ([]byte, error) {
			c2, err := DecodeCommand(b)
			if err != nil {
				return nil, err
			}
			return EncodeCommand(c2)
		})
	})
}

func FuzzDecodeSignedCommand(f *testing.F) {
	_, priv := testKey(f)
	s, _ := Sign(testCommand(), "k1", priv)
	b, _ := EncodeSignedCommand(s)
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeSignedCommand(b)
		if err != nil {
			return
		}
		roundTrip(t, b, func() ([]byte, error) { return EncodeSignedCommand(s) }, func(b []byte) ([]byte, error) {
			s2, err := DecodeSignedCommand(b)
			if err != nil {
				return nil, err
			}
			return EncodeSignedCommand(s2)
		})
	})
}

// roundTrip checks that a decoded value encodes, and that encoding is a
// fixed point: decode(encode(v)) encodes to the same bytes.
func roundTrip(t *testing.T, in []byte, encode func() ([]byte, error), reencode func([]byte) ([]byte, error)) {
	t.Helper()
	b1, err := encode()
	if err != nil {
		t.Fatalf("decoded %q but cannot encode it: %v", in, err)
	}
	b2, err := reencode(b1)
	if err != nil {
		t.Fatalf("encoded %q does not decode: %v", b1, err)
	}
	if !bytes.Equal(b1, b2) {
		t.Fatalf("round trip changed the message:\n%s\n%s", b1, b2)
	}
}
