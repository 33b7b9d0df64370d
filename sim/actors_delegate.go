package sim

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/notify"
	"github.com/parcelguard/parcelguard/service"
)

// LockerDelegates is the actor of recipients who let others collect
// their locker parcels: on the deposit notice a share of recipients name
// two delegates on their tracking page (each gets their own code by
// e-mail), and two of the three — the recipient with the PIN of the
// notice, the delegates with the codes of their messages — come to the
// locker one after the other, in an order drawn per parcel. The first
// code used must open the parcel's compartment and end every other code:
// the one who comes later must be refused, and no pickup grant of the
// parcel may stay usable.
type LockerDelegates struct {
	share float64
	w     *World

	mu   sync.Mutex
	recs map[int32]*delegRec

	named, codesRead, byDelegate, byRecipient, refusedLater, grantsChecked atomic.Int64
}

// Who comes to the locker for a delegated parcel.
const (
	wRecipient = iota
	wDelegateA
	wDelegateB
)

var whoNames = [...]string{"recipient", "delegate A", "delegate B"}

// delegRec is one delegated parcel.
type delegRec struct {
	codes  [3]string // the recipient's PIN and the delegates' codes, as read from their messages
	grants [2]string // the delegates' grant ids
	winner int8      // who opened the compartment, -1 before
	visits int8      // visits done
}

// NewLockerDelegates returns the actor; share of the recipients who get a
// deposit notice name delegates.
func NewLockerDelegates(share float64) *LockerDelegates {
	return &LockerDelegates{share: share, recs: map[int32]*delegRec{}}
}

// Name names the actor.
func (l *LockerDelegates) Name() string { return "locker-delegates" }

// Start remembers the world.
func (l *LockerDelegates) Start(_ context.Context, w *World) error {
	if !(l.share >= 0 && l.share <= 1) {
		return fmt.Errorf("delegate share must be in [0, 1], got %v", l.share)
	}
	l.w = w
	return nil
}

// delegateEmail is where delegate k (0 or 1) of parcel idx reads their code.
func delegateEmail(k, idx int) string { return fmt.Sprintf("delegate-%c-%d@sim.example", 'a'+k, idx) }

// chosen draws whether parcel idx's recipient names delegates.
func (l *LockerDelegates) chosen(idx int) bool {
	x := uint64(idx)*0x9e3779b97f4a7c15 ^ l.w.cfg.Seed*0xbf58476d1ce4e5b9 ^ 0xde1e
	x = (x ^ (x >> 31)) * 0x94d049bb133111eb
	x ^= x >> 29
	return float64(x>>11)/(1<<53) < l.share
}

// OnMessage hears the deposit notices: a chosen recipient takes their
// PIN from it and names delegates; the built-in recipient stays home.
func (l *LockerDelegates) OnMessage(_ context.Context, w *World, r *notify.Rendered) {
	if r.Kind != parcelguard.MessageDeposit || r.Channel != parcelguard.ChannelSMS {
		return
	}
	idx := indexOfPhone(r.To)
	if idx < 0 || idx >= len(w.parcels) || !l.chosen(idx) {
		return
	}
	w.mu.Lock()
	p := &w.parcels[idx]
	// Not at attacked lockers: the refused late codes count against the
	// locker's guard, and the attack must be measured on its own.
	ok := p.state == pDeposited && !p.has(fNever) && !w.sites[p.site].attacked
	if ok {
		p.extra |= xDelegated
	}
	w.mu.Unlock()
	pin := codeIn(r.Text)
	if !ok {
		return
	}
	if pin == "" {
		w.Violation("notification", "the deposit notice of %s shows no PIN", p.id)
		return
	}
	l.mu.Lock()
	l.recs[int32(idx)] = &delegRec{codes: [3]string{pin}, winner: -1}
	l.mu.Unlock()
	w.Schedule(w.Now().Add(10*time.Minute), func(ctx context.Context, w *World) { l.name(ctx, idx) })
}

// name is the recipient naming both delegates on their tracking page, then
// the three going to the locker in the parcel's order.
func (l *LockerDelegates) name(ctx context.Context, idx int) {
	w := l.w
	w.mu.Lock()
	id := w.parcels[idx].id.String()
	w.mu.Unlock()
	var grants [2]string
	err := w.timed("create_delegate", func() error {
		link, err := w.svc.RecipientLink(ctx, id)
		if err != nil {
			return err
		}
		acc, err := w.svc.AuthenticateRecipient(ctx, link)
		if err != nil {
			return err
		}
		for k := range grants {
			d, _, err := w.svc.CreateDelegate(ctx, acc, parcelguard.Delegate{Name: fmt.Sprintf("Delegate %c of %d", 'A'+k, idx),
				Email: delegateEmail(k, idx)})
			if err != nil {
				return err
			}
			grants[k] = d.GrantID
		}
		return nil
	})
	if err != nil {
		w.Unexpected("name delegates for "+id, err)
		return
	}
	l.named.Add(1)
	l.mu.Lock()
	l.recs[int32(idx)].grants = grants
	l.mu.Unlock()
	// Two of the three come, the first in the parcel's order 30 minutes
	// after the naming, the second 30 minutes later; the third code is
	// checked in the store (othersEnded). Only one comes in vain: each
	// refused code counts against the locker's guard like a typo.
	order := [][2]int{{wRecipient, wDelegateA}, {wDelegateA, wDelegateB}, {wDelegateB, wRecipient}}[idx%3]
	now := w.Now()
	for k, who := range order {
		w.Schedule(now.Add(time.Duration(k+1)*30*time.Minute), func(ctx context.Context, w *World) { l.visit(ctx, idx, who) })
	}
}

// ClaimMessage takes the delegates' code messages.
func (l *LockerDelegates) ClaimMessage(_ context.Context, w *World, r *notify.Rendered) bool {
	if r.Channel != parcelguard.ChannelEmail {
		return false
	}
	for k := range 2 {
		idx := indexAfter(r.To, fmt.Sprintf("delegate-%c-", 'a'+k), "@sim.example")
		if idx < 0 {
			continue
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		rec := l.recs[int32(idx)]
		if rec == nil || r.Kind != parcelguard.MessageDelegateCode {
			w.Violation("notification", "message %s (%s) to %s, who is no delegate of the simulation", r.MessageID, r.Kind, r.To)
			return true
		}
		if rec.codes[1+k] != "" {
			w.Violation("notification_twice", "delegate %c of parcel %d got their code twice", 'A'+k, idx)
			return true
		}
		rec.codes[1+k] = codeIn(r.Text)
		if rec.codes[1+k] == "" {
			w.Violation("notification", "the code message to %s shows no code", r.To)
		}
		l.codesRead.Add(1)
		return true
	}
	return false
}

// visit is one of the three at the locker's kiosk with their code; after
// both visits the parcel's record is dropped.
func (l *LockerDelegates) visit(ctx context.Context, idx, who int) {
	w := l.w
	w.mu.Lock()
	p := &w.parcels[idx]
	s := w.sites[p.site]
	id := p.id.String()
	w.mu.Unlock()
	l.mu.Lock()
	rec := l.recs[int32(idx)]
	code := rec.codes[who]
	l.mu.Unlock()
	if code == "" {
		w.Violation("notification_lost", "the %s of parcel %s has no code to enter", whoNames[who], id)
		return
	}
	digits := ""
	if who == wRecipient {
		digits = phoneOf(idx)[len(phoneOf(idx))-parcelguard.PhoneFactorDigits:]
	}
	var res *service.PickupResult
	err := w.timed("pickup_delegated", func() (err error) {
		res, err = w.svc.Pickup(ctx, s.kiosk, s.id, code, digits)
		return err
	})
	// Decided after the call: the two may be at the kiosk in the same
	// tick (both held by the guard until the same moment).
	l.mu.Lock()
	winner := rec.winner
	if err == nil && winner < 0 {
		rec.winner = int8(who)
	}
	l.mu.Unlock()
	if errCode(err) == parcelguard.ETHROTTLED {
		w.Schedule(w.Now().Add(max(retryAfter(err), time.Second)), func(ctx context.Context, w *World) { l.visit(ctx, idx, who) })
		return
	}
	l.mu.Lock()
	if rec.visits++; rec.visits == 2 {
		delete(l.recs, int32(idx))
	}
	l.mu.Unlock()
	switch {
	case err == nil && winner >= 0:
		w.Violation("delegate_superseded", "the %s of %s opened its compartment after the %s had taken the parcel", whoNames[who], id, whoNames[winner])
	case err == nil:
		by := "recipient"
		if who != wRecipient {
			by = "delegate"
			l.byDelegate.Add(1)
		} else {
			l.byRecipient.Add(1)
		}
		w.pickedUp(ctx, idx, res, by)
		l.othersEnded(ctx, id)
	case (errCode(err) == parcelguard.EREJECTED || errCode(err) == parcelguard.ELOCKED) && (winner >= 0 || l.takenInStore(ctx, id)):
		// Refused after the parcel was taken (the other may have taken
		// it in this very tick, its bookkeeping not yet done).
		l.refusedLater.Add(1)
		w.checks.ok()
	default:
		w.Violation("recipient_refused", "the %s of %s was refused at %s before anyone took the parcel: %v", whoNames[who], id, s.id, err)
	}
}

// takenInStore reports whether one of the parcel's pickup grants was used.
func (l *LockerDelegates) takenInStore(ctx context.Context, parcelID string) bool {
	var grants []*parcelguard.Grant
	err := l.w.store.View(ctx, func(tx parcelguard.Tx) (err error) {
		grants, err = tx.GrantsOfParcel(ctx, parcelID)
		return err
	})
	if err != nil {
		l.w.Unexpected("grants of "+parcelID, err)
		return false
	}
	for _, g := range grants {
		if g.Purpose == parcelguard.PurposePickup && g.State == parcelguard.GrantUsed {
			return true
		}
	}
	return false
}

// othersEnded checks in the store that, the parcel taken, none of its
// pickup grants is still usable.
func (l *LockerDelegates) othersEnded(ctx context.Context, parcelID string) {
	w := l.w
	var grants []*parcelguard.Grant
	err := w.store.View(ctx, func(tx parcelguard.Tx) (err error) {
		grants, err = tx.GrantsOfParcel(ctx, parcelID)
		return err
	})
	if err != nil {
		w.Unexpected("grants of "+parcelID, err)
		return
	}
	used := 0
	for _, g := range grants {
		if g.Purpose != parcelguard.PurposePickup {
			continue
		}
		switch g.State {
		case parcelguard.GrantUsed:
			used++
		case parcelguard.GrantActive, parcelguard.GrantLocked:
			w.Violation("delegate_superseded", "parcel %s was taken but its pickup grant %s is still %s", parcelID, g.ID, g.State)
			return
		}
	}
	if used != 1 {
		w.Violation("grant_reused", "parcel %s has %d used pickup grants", parcelID, used)
		return
	}
	l.grantsChecked.Add(1)
	w.checks.ok()
}

// DelegateSummary is what the locker delegates did.
type DelegateSummary struct {
	Share float64 `json:"share"`
	// Parcels whose recipients named two delegates each.
	Parcels int64 `json:"parcels"`
	// CodesRead by delegates from their messages.
	CodesRead int64 `json:"codes_read"`
	// PickedUpByDelegate and PickedUpByRecipient: who came first.
	PickedUpByDelegate  int64 `json:"picked_up_by_delegate"`
	PickedUpByRecipient int64 `json:"picked_up_by_recipient"`
	// LaterCodesRefused were entered after the parcel was taken and
	// refused, as they must be; OthersEndedChecked parcels were checked
	// in the store to have no usable pickup grant left.
	LaterCodesRefused  int64 `json:"later_codes_refused"`
	OthersEndedChecked int64 `json:"others_ended_checked"`
}

// Report adds the section to the summary.
func (l *LockerDelegates) Report(s *Summary) {
	s.LockerDelegates = &DelegateSummary{Share: l.share, Parcels: l.named.Load(), CodesRead: l.codesRead.Load(),
		PickedUpByDelegate: l.byDelegate.Load(), PickedUpByRecipient: l.byRecipient.Load(),
		LaterCodesRefused: l.refusedLater.Load(), OthersEndedChecked: l.grantsChecked.Load()}
}
