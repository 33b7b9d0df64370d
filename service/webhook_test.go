package service_test

import (
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
)

// lastEvent returns the parcel's latest event of the kind, failing the test
// when there is none.
func (f *fixture) lastEvent(parcelID string, kind parcelguard.EventKind) *parcelguard.Event {
	f.t.Helper()
	var last *parcelguard.Event
	for _, e := range must(f.svc.ParcelEvents(f.ctx, f.operator, parcelID))(f.t) {
		if e.Kind == kind {
			last = e
		}
	}
	if last == nil {
		f.t.Fatalf("parcel %s has no %s event", parcelID, kind)
	}
	return last
}

// webhooksOf returns the parcel's carrier webhooks of the event type, in
// outbox order.
func (f *fixture) webhooksOf(parcelID string, kind parcelguard.EventKind) []*parcelguard.Message {
	f.t.Helper()
	var out []*parcelguard.Message
	for _, m := range f.messages(parcelID, parcelguard.MessageWebhook) {
		if m.Data["type"] == string(kind) {
			out = append(out, m)
		}
	}
	return out
}

// Ensure every redirect of a parcel reaches its carrier: each webhook is
// keyed by its own audit event, names that event, and carries the locker
// the parcel goes to; so the second redirect is not swallowed as a repeat
// of the first.
func TestEveryRedirectReachesTheCarrier(t *testing.T) {
	f := newFixture(t, parcelguard.SizeS)
	second := must(f.svc.CreateSite(f.ctx, admin, parcelguard.Site{Name: "Ostbahnhof", Address: "Orleansplatz 11",
		Lat: 48.127, Lon: 11.604}))(t)
	x := f.announce("PG-3001", parcelguard.SizeS)
	must(f.svc.Redirect(f.ctx, f.carrierP, x.ID, second.ID))(t)
	first := f.lastEvent(x.ID, parcelguard.EventParcelRedirected)
	f.clock.Advance(time.Minute)
	must(f.svc.Redirect(f.ctx, f.carrierP, x.ID, f.site.ID))(t)
	last := f.lastEvent(x.ID, parcelguard.EventParcelRedirected)
	if first.ID == last.ID {
		t.Fatal("the second redirect recorded no event of its own")
	}

	hooks := f.webhooksOf(x.ID, parcelguard.EventParcelRedirected)
	if len(hooks) != 2 {
		t.Fatalf("%d redirect webhooks, want 2", len(hooks))
	}
	for i, e := range []*parcelguard.Event{first, last} {
		m := hooks[i]
		if m.IdempotencyKey != "webhook:"+e.ID || m.Data["event_id"] != e.ID || m.Recipient != f.carrier.ID {
			t.Errorf("webhook %d: key %q event_id %q to %q; want the key of event %s", i, m.IdempotencyKey, m.Data["event_id"], m.Recipient, e.ID)
		}
	}
	if hooks[0].SiteID != second.ID || hooks[1].SiteID != f.site.ID || hooks[1].Data["from_site"] != second.ID {
		t.Errorf("webhooks name sites %s then %s (from %s)", hooks[0].SiteID, hooks[1].SiteID, hooks[1].Data["from_site"])
	}
}

// Ensure a replay of the same audit event (the same key enqueued again, as
// a repeated cause would) makes no second webhook, while the deadline
// extension, which earlier sent none, reaches the carrier once.
func TestWebhookReplayOfAnEventIsDeduplicated(t *testing.T) {
	f := newFixture(t, parcelguard.SizeS)
	x, _ := f.deposited("PG-3002")
	must(f.svc.ExtendDeadline(f.ctx, f.recipient(x.ID)))(t)
	ext := f.lastEvent(x.ID, parcelguard.EventParcelExtended)
	hooks := f.webhooksOf(x.ID, parcelguard.EventParcelExtended)
	if len(hooks) != 1 || hooks[0].IdempotencyKey != "webhook:"+ext.ID || hooks[0].Data["deadline"] == "" {
		t.Fatalf("extension webhooks %+v, want one keyed by event %s with the new deadline", hooks, ext.ID)
	}

	replay := *hooks[0]
	replay.ID = ""
	err := f.db.Update(f.ctx, func(tx parcelguard.Tx) error {
		return tx.EnqueueMessage(f.ctx, &replay)
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.webhooksOf(x.ID, parcelguard.EventParcelExtended)); n != 1 {
		t.Fatalf("%d extension webhooks after a replay, want 1", n)
	}
}
