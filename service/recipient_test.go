package service_test

import (
	"encoding/base32"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/service"
)

func TestRecipientLink(t *testing.T) {
	// Ensure a link authenticates for its parcel until it expires, and that
	// a tampered, expired or foreign-parcel link is ErrUnauthorized.
	t.Run("OK", func(t *testing.T) {
		f := newFixture(t, parcelguard.SizeS)
		x, _ := f.deposited("PG-7001")
		link := must(f.svc.RecipientLink(f.ctx, x.ID))(t)
		if !strings.HasPrefix(link, "pgr_") {
			t.Fatalf("link %q", link)
		}
		a := must(f.svc.AuthenticateRecipient(f.ctx, link))(t)
		if a.ParcelID() != x.ID || !a.ExpiresAt().Equal(x.Deadline.Add(parcelguard.RecipientLinkGrace).Truncate(time.Second)) {
			t.Fatalf("access %s until %v", a.ParcelID(), a.ExpiresAt())
		}
		tr := must(f.svc.Track(f.ctx, a))(t)
		if tr.Parcel.ID != x.ID || tr.Site.ID != f.site.ID || !tr.CanExtend || len(tr.Timeline) != 3 {
			t.Fatalf("tracking %+v", tr)
		}
	})

	t.Run("ErrUnauthorized", func(t *testing.T) {
		f := newFixture(t, parcelguard.SizeS)
		x, _ := f.deposited("PG-7002")
		link := must(f.svc.RecipientLink(f.ctx, x.ID))(t)
		enc := base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)
		raw, err := enc.DecodeString(strings.TrimPrefix(link, "pgr_"))
		if err != nil {
			t.Fatal(err)
		}
		flip := func(i int) string {
			b := append([]byte(nil), raw...)
			b[i] ^= 1
			return "pgr_" + enc.EncodeToString(b)
		}
		for name, tok := range map[string]string{
			"tampered expiry": flip(25),
			"tampered parcel": flip(len(raw) - 20),
			"tampered tag":    flip(len(raw) - 1),
			"truncated":       link[:len(link)-2],
			"api key":         "pgk_aaaaaaaaaaaa_" + strings.Repeat("b", 52),
			"empty":           "",
		} {
			if _, err := f.svc.AuthenticateRecipient(f.ctx, tok); !errors.Is(err, parcelguard.ErrUnauthorized) {
				t.Errorf("%s: %v, want ErrUnauthorized", name, err)
			}
		}
		f.clock.Advance(72*time.Hour + parcelguard.RecipientLinkGrace)
		if _, err := f.svc.AuthenticateRecipient(f.ctx, link); !errors.Is(err, parcelguard.ErrUnauthorized) {
			t.Errorf("expired: %v, want ErrUnauthorized", err)
		}
		if _, err := f.svc.Track(f.ctx, &service.RecipientAccess{}); !errors.Is(err, parcelguard.ErrUnauthorized) {
			t.Errorf("zero access: %v, want ErrUnauthorized", err)
		}
	})

	// Ensure the deadline extends once by 24 h, moving the grant and the
	// expiry timer with it.
	t.Run("Extend", func(t *testing.T) {
		f := newFixture(t, parcelguard.SizeS)
		x, pin := f.deposited("PG-7003")
		a := must(f.svc.AuthenticateRecipient(f.ctx, must(f.svc.RecipientLink(f.ctx, x.ID))(t)))(t)
		y := must(f.svc.ExtendDeadline(f.ctx, a))(t)
		if want := x.Deadline.Add(24 * time.Hour); !y.Deadline.Equal(want) {
			t.Fatalf("deadline %v, want %v", y.Deadline, want)
		}
		if _, err := f.svc.ExtendDeadline(f.ctx, a); parcelguard.ErrorCode(err) != parcelguard.ECONFLICT {
			t.Fatalf("second extension: %v", err)
		}
		// Past the old deadline the parcel still waits and the PIN works.
		f.clock.Advance(80 * time.Hour)
		must(f.svc.FireDueTimers(f.ctx))(t)
		if got := f.parcel(x.ID).State; got != parcelguard.ParcelDeposited {
			t.Fatalf("state %s after the old deadline", got)
		}
		must(f.svc.Pickup(f.ctx, f.kiosk, f.site.ID, pin, phone))(t)
	})
}

func TestPickupQR(t *testing.T) {
	// Ensure a QR token opens its compartment once, and that forged tokens
	// do not count against the locker guard.
	f := newFixture(t, parcelguard.SizeS, parcelguard.SizeS)
	x, _ := f.deposited("PG-7101")
	a := must(f.svc.AuthenticateRecipient(f.ctx, must(f.svc.RecipientLink(f.ctx, x.ID))(t)))(t)
	creds := must(f.svc.TrackCode(f.ctx, a))(t)
	for range 20 {
		if _, err := f.svc.PickupQR(f.ctx, f.kiosk, f.site.ID, "AAAA"+creds.QRToken[4:]); !errors.Is(err, parcelguard.ErrCodeRejected) {
			t.Fatalf("forged token: %v", err)
		}
	}
	res := must(f.svc.PickupQR(f.ctx, f.kiosk, f.site.ID, creds.QRToken))(t)
	if res.ParcelID != x.ID {
		t.Fatalf("result %+v", res)
	}
	if _, err := f.svc.PickupQR(f.ctx, f.kiosk, f.site.ID, creds.QRToken); !errors.Is(err, parcelguard.ErrCodeRejected) {
		t.Fatalf("second use: %v", err)
	}
	// 20 forged tokens later, PIN users are not blocked.
	y, pin := f.deposited("PG-7102")
	must(f.svc.Pickup(f.ctx, f.kiosk, f.site.ID, pin, phone))(t)
	if f.parcel(y.ID).State != parcelguard.ParcelPickedUp {
		t.Fatal("PIN pickup after forged QR tokens failed")
	}
}

func TestIdempotencyTakeover(t *testing.T) {
	// Ensure an in-flight key blocks a retry until its lease passes, then
	// is taken over, and that the dead holder's late answer is dropped.
	f := newFixture(t)
	hash := []byte("h")
	first := must3(f.svc.BeginIdempotent(f.ctx, "key:a", "k", hash))(t)
	if _, _, err := f.svc.BeginIdempotent(f.ctx, "key:a", "k", hash); !errors.Is(err, parcelguard.ErrIdempotencyInFlight) {
		t.Fatalf("while in flight: %v", err)
	}
	f.clock.Advance(parcelguard.IdempotencyLease)
	second := must3(f.svc.BeginIdempotent(f.ctx, "key:a", "k", hash))(t)
	if second == nil {
		t.Fatal("abandoned key not taken over")
	}
	f.svc.StoreAnswerLater(first, 201, []byte("late"), true)
	f.svc.WaitAnswers()
	if _, replay, err := f.svc.BeginIdempotent(f.ctx, "key:a", "k", hash); !errors.Is(err, parcelguard.ErrIdempotencyInFlight) {
		t.Fatalf("after the dead holder's answer: replay %+v, %v; want the key still the new holder's", replay, err)
	}
	f.svc.StoreAnswerLater(second, 201, []byte("ok"), true)
	f.svc.WaitAnswers()
	_, replay, err := f.svc.BeginIdempotent(f.ctx, "key:a", "k", hash)
	if err != nil || replay == nil || string(replay.Response) != "ok" {
		t.Fatalf("replay %+v, %v", replay, err)
	}
	f.clock.Advance(parcelguard.IdempotencyTTL)
	if n := must(f.svc.PurgeIdempotencyKeys(f.ctx))(t); n != 1 {
		t.Fatalf("purged %d, want 1", n)
	}
}

// must3 is must for BeginIdempotent: it returns the claimed record.
func must3(claimed, _ *parcelguard.IdempotencyRecord, err error) func(failer) *parcelguard.IdempotencyRecord {
	return must(claimed, err)
}
