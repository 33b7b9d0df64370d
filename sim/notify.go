package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/notify"
)

// Each recipient has a phone number and (some) an e-mail address derived
// from the parcel's index, so the simulation knows whose phone rang without
// keeping a table: the phone number is 48 5xx xxx xxx with the last eight
// digits a bijection of the index (multiplication by an odd number coprime
// with 10 modulo 10^8), so the last four digits look random.
const (
	phoneMod  = 100_000_000
	phoneMult = 48271
)

var phoneInv = modInverse(phoneMult, phoneMod)

func modInverse(a, m int64) int64 {
	g, x, _ := extGCD(a, m)
	if g != 1 {
		panic("sim: phone multiplier not invertible")
	}
	return ((x % m) + m) % m
}

func extGCD(a, b int64) (g, x, y int64) {
	if b == 0 {
		return a, 1, 0
	}
	g, x1, y1 := extGCD(b, a%b)
	return g, y1, x1 - (a/b)*y1
}

// phoneOf is the phone number of parcel idx's recipient.
func phoneOf(idx int) string {
	return fmt.Sprintf("+485%08d", int64(idx)*phoneMult%phoneMod)
}

// indexOfPhone inverts phoneOf (-1 if the number is not one of ours).
func indexOfPhone(p string) int {
	rest, ok := strings.CutPrefix(p, "+485")
	if !ok || len(rest) != 8 {
		return -1
	}
	n, err := strconv.ParseInt(rest, 10, 64)
	if err != nil {
		return -1
	}
	return int(n * phoneInv % phoneMod)
}

func emailOf(idx int) string { return fmt.Sprintf("r%d@sim.example", idx) }

func indexOfEmail(e string) int {
	rest, ok := strings.CutPrefix(e, "r")
	if !ok {
		return -1
	}
	rest, ok = strings.CutSuffix(rest, "@sim.example")
	if !ok {
		return -1
	}
	n, err := strconv.Atoi(rest)
	if err != nil {
		return -1
	}
	return n
}

func trackingOf(idx int) string { return fmt.Sprintf("SIM-%09d", idx) }

func indexOfTracking(t string) int {
	rest, ok := strings.CutPrefix(t, "SIM-")
	if !ok {
		return -1
	}
	n, err := strconv.Atoi(rest)
	if err != nil {
		return -1
	}
	return n
}

// Notification bits of parcelRec.notes: one per recipient message kind and
// channel, one per webhook event type. A bit set twice is a notification
// sent twice for one cause; a bit missing at the end is a lost one.
var noteBits = map[string]uint32{}

func init() {
	b := uint32(1)
	for _, k := range []parcelguard.MessageKind{parcelguard.MessageDeposit, parcelguard.MessageReminder,
		parcelguard.MessageExpiry, parcelguard.MessagePickedUp} {
		for _, ch := range []parcelguard.Channel{parcelguard.ChannelSMS, parcelguard.ChannelEmail} {
			noteBits[string(k)+"/"+string(ch)] = b
			b <<= 1
		}
	}
	for _, e := range []parcelguard.EventKind{parcelguard.EventParcelDeposited, parcelguard.EventParcelPickedUp,
		parcelguard.EventParcelExpired, parcelguard.EventParcelCollected, parcelguard.EventParcelReturned} {
		noteBits["webhook/"+string(e)] = b
		b <<= 1
	}
}

func noteBit(kind, ch string) uint32 { return noteBits[kind+"/"+ch] }

// sender is the simulation's end of every channel: the recipients' phones
// and mailboxes and the carrier's webhook endpoint.
type sender struct{ w *World }

// Send takes delivery of one rendered message.
func (s *sender) Send(ctx context.Context, r *notify.Rendered) error {
	s.w.onMessage(ctx, r)
	return nil
}

// onMessage records a delivered notification against its parcel and lets
// the recipient or carrier act on it.
func (w *World) onMessage(ctx context.Context, r *notify.Rendered) {
	now := w.Now()
	w.stats.count(sNotified, now, 1)
	idx, key := -1, ""
	switch r.Channel {
	case parcelguard.ChannelSMS:
		idx, key = indexOfPhone(r.To), string(r.Kind)+"/sms"
	case parcelguard.ChannelEmail:
		idx, key = indexOfEmail(r.To), string(r.Kind)+"/email"
	case parcelguard.ChannelWebhook:
		var ev notify.WebhookEvent
		if err := json.Unmarshal(r.Body, &ev); err != nil {
			w.Violation("notification", "undecodable webhook %s: %v", r.MessageID, err)
			return
		}
		idx, key = indexOfTracking(ev.Parcel.TrackingNumber), "webhook/"+ev.Type
	}
	bit := noteBits[key]
	if idx < 0 || idx >= len(w.parcels) || bit == 0 {
		if w.claim(ctx, r) {
			w.hear(ctx, r)
			return
		}
		w.Violation("notification", "message %s (%s to %s) is for no parcel of the simulation", r.MessageID, key, r.To)
		return
	}
	w.mu.Lock()
	p := &w.parcels[idx]
	dup := p.notes&bit != 0
	p.notes |= bit
	w.mu.Unlock()
	if dup {
		w.Violation("notification_twice", "parcel %s got %s twice (idempotency key %s)", p.id, key, r.IdempotencyKey)
		return
	}
	w.checks.ok()
	switch key {
	case "deposit/sms":
		// The recipient reads the notice and comes later (or never).
		if !p.has(fNever) {
			w.Schedule(now.Add(time.Duration(p.delay)*time.Second), func(ctx context.Context, w *World) { w.recipientVisit(ctx, idx) })
		}
	case "reminder/sms":
		w.stats.count(sReminded, now, 1)
	case "webhook/" + string(parcelguard.EventParcelExpired):
		w.carrierLearnsExpiry(idx)
	}
	w.hear(ctx, r)
}

// expectedNotes returns the notifications a parcel in the model's final
// state must have received.
func expectedNotes(p *parcelRec) uint32 {
	var want uint32
	recipient := func(kind parcelguard.MessageKind) {
		want |= noteBit(string(kind), "sms")
		if p.has(fEmail) {
			want |= noteBit(string(kind), "email")
		}
	}
	hook := func(e parcelguard.EventKind) { want |= noteBit("webhook", string(e)) }
	if p.state >= pDeposited {
		hook(parcelguard.EventParcelDeposited)
		if !p.has(fStolen) {
			recipient(parcelguard.MessageDeposit)
		}
	}
	switch p.state {
	case pPickedUp:
		recipient(parcelguard.MessagePickedUp)
		hook(parcelguard.EventParcelPickedUp)
	case pExpired, pCollected, pReturned:
		recipient(parcelguard.MessageExpiry)
		hook(parcelguard.EventParcelExpired)
	}
	if p.state >= pCollected && p.state != pPickedUp {
		hook(parcelguard.EventParcelCollected)
	}
	if p.state == pReturned {
		hook(parcelguard.EventParcelReturned)
	}
	return want
}

// noteNames lists the names of the bits set in b.
func noteNames(b uint32) []string {
	var out []string
	for name, bit := range noteBits {
		if b&bit != 0 {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}
