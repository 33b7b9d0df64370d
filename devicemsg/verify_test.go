package devicemsg

import (
	"context"
	"crypto/ed25519"
	"errors"
	"testing"
	"time"
)

func TestVerifier(t *testing.T) {
	ctx := context.Background()
	pub, priv := testKey(t)
	now := t0.Add(time.Minute)
	newVerifier := func(t *testing.T) *Verifier {
		v, err := NewVerifier("site_a", map[string]ed25519.PublicKey{"k1": pub}, NewMemoryNonceStore(func() time.Time { return now }), func() time.Time { return now })
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	sign := func(t *testing.T, c Command) SignedCommand {
		s, err := Sign(c, "k1", priv)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	// Ensure a good command is accepted once, and its replay is refused.
	t.Run("OK", func(t *testing.T) {
		v := newVerifier(t)
		s := sign(t, testCommand())
		if _, err := v.Verify(ctx, s); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(ctx, s); !errors.Is(err, ErrReplay) {
			t.Fatalf("replay: got %v, want ErrReplay", err)
		}
	})
	cases := []struct {
		name string
		make func(t *testing.T) SignedCommand
		want error
	}{
		{"ErrAudience", func(t *testing.T) SignedCommand {
			c := testCommand()
			c.LockerID = "site_b"
			return sign(t, c)
		}, ErrAudience},
		{"ErrExpired", func(t *testing.T) SignedCommand {
			c := testCommand()
			c.IssuedAt, c.ExpiresAt = t0.Add(-time.Hour), t0.Add(-time.Hour+time.Minute)
			return sign(t, c)
		}, ErrExpired},
		{"ErrNotYetValid", func(t *testing.T) SignedCommand {
			c := testCommand()
			c.IssuedAt, c.ExpiresAt = t0.Add(time.Hour), t0.Add(time.Hour+time.Minute)
			return sign(t, c)
		}, ErrNotYetValid},
		{"ErrSignature", func(t *testing.T) SignedCommand {
			s := sign(t, testCommand())
			s.Signature[0] ^= 1
			return s
		}, ErrSignature},
		{"ErrSignatureOtherKey", func(t *testing.T) SignedCommand {
			_, other := testKey(t)
			s, err := Sign(testCommand(), "k1", other)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}, ErrSignature},
		{"ErrSignatureTamperedBody", func(t *testing.T) SignedCommand {
			s := sign(t, testCommand())
			c, _ := DecodeCommand(s.Command)
			c.DoorOpen.Compartment = "B01"
			s.Command, _ = EncodeCommand(c)
			return s
		}, ErrSignature},
		{"ErrUnknownKey", func(t *testing.T) SignedCommand {
			s := sign(t, testCommand())
			s.KeyID = "k2"
			return s
		}, ErrUnknownKey},
	}
	for _, tc := range cases {
		// Ensure each kind of bad command is refused with its own error.
		t.Run(tc.name, func(t *testing.T) {
			if _, err := newVerifier(t).Verify(ctx, tc.make(t)); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	// Ensure a refused command does not burn its nonce.
	t.Run("RefusedKeepsNonce", func(t *testing.T) {
		v := newVerifier(t)
		s := sign(t, testCommand())
		bad := s
		bad.Signature = append([]byte(nil), s.Signature...)
		bad.Signature[1] ^= 1
		if _, err := v.Verify(ctx, bad); err == nil {
			t.Fatal("bad signature accepted")
		}
		if _, err := v.Verify(ctx, s); err != nil {
			t.Fatal(err)
		}
	})
}

// Ensure no command can open more than one door or stay open-ended.
func TestDoorOpenIsOneCompartment(t *testing.T) {
	for _, body := range []string{
		`{"compartment":["A1","A2"],"reason":"x"}`,
		`{"compartment":"*","reason":"x"}`,
		`{"compartment":"A1 A2","reason":"x"}`,
		`{"compartments":["A1"],"reason":"x"}`,
		`{"compartment":"A1","reason":""}`,
	} {
		b := []byte(`{"id":"c","locker_id":"site_a","kind":"door.open","nonce":"0123456789abcdef0123456789abcdef","issued_at":"2026-11-20T10:00:00Z","expires_at":"2026-11-20T10:01:00Z","door_open":` + body + `}`)
		if _, err := DecodeCommand(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: got %v, want ErrMalformed", body, err)
		}
	}
	c := testCommand()
	c.ExpiresAt = c.IssuedAt.Add(time.Hour)
	if _, err := EncodeCommand(c); !errors.Is(err, ErrMalformed) {
		t.Errorf("hour-long door.open: got %v, want ErrMalformed", err)
	}
}

func TestMemoryNonceStoreForgetsExpired(t *testing.T) {
	now := t0
	m := NewMemoryNonceStore(func() time.Time { return now })
	n := NewNonce()
	if err := m.UseNonce(context.Background(), n, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	now = t0.Add(2 * time.Minute)
	_ = m.UseNonce(context.Background(), NewNonce(), now.Add(time.Minute))
	if m.Len() != 1 {
		t.Fatalf("store holds %d nonces, want 1", m.Len())
	}
}
