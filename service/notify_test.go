package service_test

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/parcelguard/parcelguard"
)

// outbox lists every outbox message.
func (f *fixture) outbox() (out []*parcelguard.Message) {
	f.t.Helper()
	err := f.db.View(f.ctx, func(tx parcelguard.Tx) (err error) {
		out, err = tx.Messages(f.ctx, parcelguard.MessageFilter{})
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

// Ensure a deposit enqueues, in its own transaction, the recipient's deposit
// notice on e-mail and SMS and the carrier's webhook, keyed by the grant,
// with no code anywhere in the rows; and a refused deposit enqueues nothing.
func TestDepositEnqueuesNotifications(t *testing.T) {
	f := newFixture(t, parcelguard.SizeS)
	p := f.announce("PG-2001", parcelguard.SizeS)
	must(f.svc.Reserve(f.ctx, f.courier, p.ID))(t)
	other := parcelguard.Principal{Role: parcelguard.RoleCourier, KeyPrefix: "pgk_x", CarrierID: "car_other"}
	if _, err := f.svc.Deposit(context.Background(), other, p.ID); err == nil {
		t.Fatal("a courier of another carrier deposited")
	}
	if n := len(f.outbox()); n != 0 {
		t.Fatalf("refused deposit left %d messages", n)
	}
	p = must(f.svc.Deposit(f.ctx, f.courier, p.ID))(t)
	pin, g, err := f.svc.PickupCode(f.ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	deposited := f.lastEvent(p.ID, parcelguard.EventParcelDeposited)
	for _, m := range f.outbox() {
		keys = append(keys, m.IdempotencyKey)
		if m.ParcelID != p.ID || m.SiteID != f.site.ID || m.State != parcelguard.MessagePending {
			t.Errorf("message %+v", m)
		}
		if b, _ := json.Marshal(m); strings.Contains(string(b), pin) {
			t.Errorf("outbox row holds the PIN: %s", b)
		}
	}
	sort.Strings(keys)
	want := []string{"deposit:" + g.ID + ":email", "deposit:" + g.ID + ":sms", "webhook:" + deposited.ID}
	if strings.Join(keys, " ") != strings.Join(want, " ") {
		t.Fatalf("keys %v, want %v", keys, want)
	}
}
