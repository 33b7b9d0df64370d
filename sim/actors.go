package sim

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/service"
)

// arrive draws a new parcel (its site, size, recipient and behaviour) and
// schedules the carrier's announcement of it in the running tick's slot.
// It runs on the main loop, which owns the random source.
func (w *World) arrive(now time.Time) func(ctx context.Context, w *World) {
	r := w.rng
	idx := len(w.parcels)
	site := w.pickSite(r.Float64())
	p := parcelRec{site: int32(site), size: uint8(pickMix(w.cfg.ParcelMix, r.Float64()))}
	d, never := w.cfg.Delay.Draw(r)
	p.delay = int32(d / time.Second)
	for _, f := range []struct {
		share float64
		flag  uint8
	}{{w.cfg.EmailShare, fEmail}, {w.cfg.QRShare, fQR}, {w.cfg.TypoShare, fTypo}, {w.cfg.ReplayShare, fReplay}} {
		if r.Float64() < f.share {
			p.flags |= f.flag
		}
	}
	if never {
		p.flags |= fNever
	}
	w.mu.Lock()
	w.parcels = append(w.parcels, p)
	w.mu.Unlock()
	w.stats.count(sArrived, now, 1)
	return func(ctx context.Context, w *World) { w.announce(ctx, idx) }
}

// pickSite chooses a site with probability proportional to its
// compartments, so every compartment sees the same load on average.
func (w *World) pickSite(u float64) int {
	lo, hi := 0, len(w.siteCum)-1
	for lo < hi {
		mid := (lo + hi) / 2
		if w.siteCum[mid] > u {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

var langs = []string{"pl", "de", "en", "it"}

// announce is the carrier announcing parcel idx for its site; the parcel
// joins the site's courier queue.
func (w *World) announce(ctx context.Context, idx int) {
	w.mu.Lock()
	p := &w.parcels[idx]
	s := w.sites[p.site]
	w.mu.Unlock()
	in := parcelguard.Parcel{TrackingNumber: trackingOf(idx), Size: parcelguard.SizeClasses[p.size], SiteID: s.id,
		Mode: parcelguard.HandoverLocker, DeclaredValue: int64(1000 + idx%50000), Currency: "PLN",
		Recipient: parcelguard.Recipient{Name: "Recipient " + strconv.Itoa(idx), Phone: phoneOf(idx), Language: langs[idx%len(langs)]}}
	if p.has(fEmail) {
		in.Recipient.Email = emailOf(idx)
	}
	var x *parcelguard.Parcel
	err := w.timed("announce", func() (err error) {
		x, err = w.svc.Announce(ctx, w.carrierP, in)
		return err
	})
	if err != nil {
		w.Unexpected("announce "+in.TrackingNumber, err)
		return
	}
	now := w.Now()
	w.mu.Lock()
	id, ok := packID(x.ID)
	if !ok {
		w.mu.Unlock()
		w.Unexpected("announce "+in.TrackingNumber, fmt.Errorf("parcel id %q longer than %d bytes", x.ID, maxIDLen))
		return
	}
	p.id, p.state, p.announced = id, pAnnounced, uint32(now.Unix())
	s.queue = append(s.queue, int32(idx))
	w.scheduleRoundLocked(s, now)
	w.mu.Unlock()
}

// scheduleRoundLocked books the site's next courier round unless one is
// booked; rounds fall on the site's own offset within RoundEvery.
func (w *World) scheduleRoundLocked(s *siteRec, now time.Time) {
	if s.roundAt >= 0 {
		return
	}
	base := now.Sub(w.start) - s.offset
	k := base/w.cfg.RoundEvery + 1
	at := w.start.Add(s.offset + k*w.cfg.RoundEvery)
	s.roundAt = w.tickOf(at)
	w.Schedule(at, func(ctx context.Context, w *World) { w.round(ctx, s) })
}

// carrierLearnsExpiry is the carrier hearing (by webhook) that a parcel
// expired: the site's next courier round collects it.
func (w *World) carrierLearnsExpiry(idx int) {
	now := w.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	p := &w.parcels[idx]
	s := w.sites[p.site]
	if p.state != pDeposited {
		w.Violation("expiry", "parcel %s expired while %s in the simulation", p.id, pstateNames[p.state])
		return
	}
	if now.Before(unixAt(p.deadline)) {
		w.Violation("expiry", "parcel %s expired at %s, before its deadline", p.id, now.Format(time.RFC3339))
	}
	p.state = pExpired
	s.active--
	w.stats.count(sExpired, now, 1)
	s.expiredKnown = append(s.expiredKnown, int32(idx))
	w.scheduleRoundLocked(s, now)
}

// round is a courier's visit to a site: first take out the expired parcels
// the carrier was told of (from the site's return queue), then deposit the
// queued parcels, largest first-come, leaving those that do not fit for the
// next round.
func (w *World) round(ctx context.Context, s *siteRec) {
	w.mu.Lock()
	s.roundAt = -1
	expired, queue := s.expiredKnown, s.queue
	s.expiredKnown, s.queue = nil, nil
	w.mu.Unlock()

	if len(expired) > 0 {
		w.collect(ctx, s, expired)
	}
	// A size that found no free compartment stops larger and equal sizes
	// for this round; smaller parcels may still fit. The courier's
	// deposits run a few at a time: in simulated time they all happen
	// within the tick, and the store commits them together.
	var (
		fmu      sync.Mutex
		failRank = len(parcelguard.SizeClasses)
		left     []int32
		wg       sync.WaitGroup
		next     = make(chan int32)
	)
	for range min(depositLanes, len(queue)) {
		wg.Go(func() {
			for idx := range next {
				if !w.depositOne(ctx, s, idx, &fmu, &failRank) {
					fmu.Lock()
					left = append(left, idx)
					fmu.Unlock()
				}
			}
		})
	}
	for _, idx := range queue {
		next <- idx
	}
	close(next)
	wg.Wait()
	slices.Sort(left) // first come, first served at the next round
	now := w.Now()
	w.stats.count(sDeferred, now, int64(len(left)))
	w.mu.Lock()
	s.queue = append(left, s.queue...)
	if len(s.queue) > 0 || len(s.expiredKnown) > 0 {
		w.scheduleRoundLocked(s, now)
	}
	w.mu.Unlock()
}

// clientRetries is how often an actor repeats a call the service answered
// with ErrConflict ("concurrent update; retry"), as the API's clients do.
const clientRetries = 3

// retryConflict runs fn again while it fails with ErrConflict, counting
// each repeat (the report shows them: they are contention the service did
// not absorb itself).
func (w *World) retryConflict(fn func() error) error {
	err := fn()
	for range clientRetries {
		if !errors.Is(err, parcelguard.ErrConflict) {
			return err
		}
		w.stats.conflictRetries.Add(1)
		err = fn()
	}
	return err
}

// depositLanes is how many deposits of one courier round run at once.
const depositLanes = 8

// depositOne reserves a compartment for parcel idx and deposits it. It
// reports false when the parcel must wait for a later round (no room for
// its size); failRank, guarded by fmu, is the smallest size found without
// room this round.
func (w *World) depositOne(ctx context.Context, s *siteRec, idx int32, fmu *sync.Mutex, failRank *int) bool {
	w.mu.Lock()
	p := &w.parcels[idx]
	id, size := p.id.String(), int(p.size)
	w.mu.Unlock()
	fmu.Lock()
	full := size >= *failRank
	fmu.Unlock()
	if full {
		return false
	}
	var x *parcelguard.Parcel
	err := w.retryConflict(func() error {
		return w.timed("reserve", func() (err error) {
			x, err = w.svc.Reserve(ctx, w.courier, id)
			return err
		})
	})
	if errors.Is(err, parcelguard.ErrNoFreeCompartment) {
		fmu.Lock()
		*failRank = min(*failRank, size)
		fmu.Unlock()
		return false
	}
	if err != nil {
		w.Unexpected("reserve "+id, err)
		return true
	}
	w.mu.Lock()
	p.state = pReserved
	p.compartment, _ = packID(x.CompartmentID) // ids are 30 bytes; a longer one fails the door check
	s.reserved++
	w.mu.Unlock()
	err = w.retryConflict(func() error {
		return w.timed("deposit", func() (err error) {
			x, err = w.svc.Deposit(ctx, w.courier, id)
			return err
		})
	})
	if err != nil {
		w.Unexpected("deposit "+id, err)
		return true
	}
	now := w.Now()
	if want := now.Add(parcelguard.DefaultStoragePeriod); !x.Deadline.Equal(want) {
		w.Violation("deadline", "parcel %s deposited at %s got deadline %s, want %s", id, now, x.Deadline, want)
	}
	w.mu.Lock()
	p.state, p.deposited, p.deadline = pDeposited, uint32(now.Unix()), uint32(x.Deadline.Unix())
	s.reserved--
	s.occupied++
	s.active++
	w.mu.Unlock()
	w.stats.count(sDeposited, now, 1)
	w.stats.wait.add(now.Sub(unixAt(p.announced)))
	return true
}

// collect takes the site's expired parcels out for return. The return
// queue the courier app shows must hold every parcel the carrier was told
// expired here, and nothing the simulation does not know as expired.
func (w *World) collect(ctx context.Context, s *siteRec, told []int32) {
	var list []*parcelguard.Parcel
	err := w.timed("return_queue", func() (err error) {
		list, err = w.svc.ReturnQueue(ctx, w.courier, s.id)
		return err
	})
	if err != nil {
		w.Unexpected("return queue of "+s.id, err)
		return
	}
	inQueue := map[int]bool{}
	for _, x := range list {
		idx := indexOfTracking(x.TrackingNumber)
		w.mu.Lock()
		ok := idx >= 0 && idx < len(w.parcels) && w.parcels[idx].id.String() == x.ID && w.parcels[idx].state == pExpired
		w.mu.Unlock()
		if !ok {
			w.Violation("return_queue", "return queue of %s lists %s, which the simulation does not know as expired there", s.id, x.ID)
			continue
		}
		inQueue[idx] = true
	}
	for _, idx := range told {
		if !inQueue[int(idx)] && len(list) < 500 {
			w.Violation("return_queue", "expired parcel %s is missing from the return queue of %s", w.parcels[idx].id, s.id)
		}
	}
	for idx := range inQueue {
		w.mu.Lock()
		p := &w.parcels[idx]
		id := p.id.String()
		w.mu.Unlock()
		err := w.timed("collect", func() error {
			_, err := w.svc.Collect(ctx, w.courier, id)
			return err
		})
		if err != nil {
			w.Unexpected("collect "+id, err)
			continue
		}
		now := w.Now()
		w.mu.Lock()
		p.state = pCollected
		s.occupied--
		w.mu.Unlock()
		w.stats.count(sCollected, now, 1)
		w.Schedule(now.Add(w.cfg.ReturnAfter), func(ctx context.Context, w *World) { w.markReturned(ctx, idx) })
	}
}

// markReturned is the courier handing a collected parcel back to its sender.
func (w *World) markReturned(ctx context.Context, idx int) {
	w.mu.Lock()
	p := &w.parcels[idx]
	id := p.id.String()
	w.mu.Unlock()
	err := w.timed("mark_returned", func() error {
		_, err := w.svc.MarkReturned(ctx, w.courier, id)
		return err
	})
	if err != nil {
		w.Unexpected("mark returned "+id, err)
		return
	}
	w.mu.Lock()
	p.state = pReturned
	w.mu.Unlock()
	w.stats.count(sReturned, w.Now(), 1)
}

// recipientVisit is a recipient at the site's kiosk: with the QR code from
// the tracking page, or with the PIN from the notice and the phone digits
// (mistyping it once, some of them). A kiosk held by the guard's delay makes
// them wait and try again, once; the wait is recorded.
func (w *World) recipientVisit(ctx context.Context, idx int) {
	w.mu.Lock()
	p := &w.parcels[idx]
	s := w.sites[p.site]
	id, flags, deadline := p.id.String(), p.flags, unixAt(p.deadline)
	if p.extra&xDelegated != 0 {
		// The recipient named delegates: the delegate actor plays the
		// recipient's own visit among theirs.
		w.mu.Unlock()
		return
	}
	p.flags |= fArrived
	w.mu.Unlock()
	now := w.Now()

	var res *service.PickupResult
	var err error
	var pin, token string
	if flags&fQR != 0 {
		token, err = w.qrToken(ctx, id)
		if err == nil {
			err = w.timed("pickup_qr", func() (err error) {
				res, err = w.svc.PickupQR(ctx, s.kiosk, s.id, token)
				return err
			})
		}
	} else {
		err = w.timed("pickup_code", func() (err error) {
			pin, _, err = w.svc.PickupCode(ctx, id)
			return err
		})
		if err == nil {
			digits := phoneOf(idx)[len(phoneOf(idx))-parcelguard.PhoneFactorDigits:]
			if flags&fTypo != 0 && flags&fTypoed == 0 {
				w.mu.Lock()
				p.flags |= fTypoed
				w.mu.Unlock()
				pin = mistype(pin)
				w.stats.count(sTypos, now, 1)
			}
			err = w.timed("pickup", func() (err error) {
				res, err = w.svc.Pickup(ctx, s.kiosk, s.id, pin, digits)
				return err
			})
			if err != nil && flags&fTypo != 0 && flags&fTypoed == 0 && errCode(err) == parcelguard.EREJECTED {
				// The mistyped PIN was refused; they type it again.
				w.Schedule(now.Add(w.cfg.Tick), func(ctx context.Context, w *World) { w.recipientVisit(ctx, idx) })
				return
			}
		}
	}
	switch {
	case err == nil:
		w.pickedUp(ctx, idx, res, "recipient")
		if flags&fReplay != 0 {
			w.Schedule(now.Add(w.cfg.Tick), func(ctx context.Context, w *World) { w.replay(ctx, idx, pin, token) })
		}
	case errCode(err) == parcelguard.ETHROTTLED:
		// They wait out the delay the kiosk shows once; turned away again
		// (someone else's failure started a new block), they scan the QR
		// code from their message, as the kiosk suggests: the guard never
		// blocks it (SECURITY.md 9).
		wait := max(retryAfter(err), time.Second)
		w.mu.Lock()
		again := p.waited > 0
		if again {
			p.flags |= fQR
		} else {
			p.waited += int32(wait / time.Second)
		}
		w.mu.Unlock()
		if again {
			wait = 0
		}
		w.Schedule(now.Add(wait), func(ctx context.Context, w *World) { w.recipientVisit(ctx, idx) })
	case errCode(err) == parcelguard.EREJECTED || errCode(err) == parcelguard.ENOTFOUND || errCode(err) == parcelguard.ECONFLICT:
		// Refused, or no active code to show: fine after the deadline or
		// when an attacker got there first, a broken promise otherwise.
		w.mu.Lock()
		stolen := p.has(fStolen)
		w.mu.Unlock()
		if !now.Before(deadline) || stolen {
			w.stats.count(sLateRefused, now, 1)
			w.checks.ok()
			return
		}
		w.Violation("recipient_refused", "recipient of %s refused at %s before the deadline %s: %v", id, now.Format(time.RFC3339), deadline.Format(time.RFC3339), err)
	default:
		w.Unexpected("pickup of "+id, err)
	}
}

// qrToken is the recipient opening their tracking link and reading the QR
// code it shows.
func (w *World) qrToken(ctx context.Context, parcelID string) (string, error) {
	var tok string
	err := w.timed("tracking_code", func() error {
		link, err := w.svc.RecipientLink(ctx, parcelID)
		if err != nil {
			return err
		}
		acc, err := w.svc.AuthenticateRecipient(ctx, link)
		if err != nil {
			return err
		}
		cred, err := w.svc.TrackCode(ctx, acc)
		if err != nil {
			return err
		}
		tok = cred.QRToken
		return nil
	})
	return tok, err
}

// mistype changes one digit of pin.
func mistype(pin string) string {
	b := []byte(pin)
	i := int(b[0]) % len(b)
	b[i] = '0' + (b[i]-'0'+1)%10
	return string(b)
}

// pickedUp checks a successful opening against the model and records it:
// the door opened must be the parcel's, the parcel must still be waiting in
// it (a grant opens at most once), and its deadline must not have passed.
func (w *World) pickedUp(_ context.Context, idx int, res *service.PickupResult, by string) {
	now := w.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	p := &w.parcels[idx]
	s := w.sites[p.site]
	switch {
	case res.ParcelID != p.id.String():
		w.Violation("wrong_door", "%s of %s opened the compartment of parcel %s", by, p.id, res.ParcelID)
		return
	case p.state != pDeposited:
		// Checked before the door: a parcel no longer in the locker has
		// no compartment in the model.
		w.Violation("grant_reused", "%s opened %s, which is %s in the simulation (a grant opened twice)", by, p.id, pstateNames[p.state])
		return
	case res.CompartmentID != p.compartment.String():
		w.Violation("wrong_door", "%s of %s opened compartment %s, the parcel is in %s", by, p.id, res.CompartmentID, p.compartment)
		return
	case !now.Before(unixAt(p.deadline)):
		w.Violation("pickup_after_deadline", "%s opened %s at %s, after its deadline %s", by, p.id, now.Format(time.RFC3339),
			unixAt(p.deadline).Format(time.RFC3339))
	}
	w.checks.ok()
	p.state, p.compartment = pPickedUp, shortID{} // the compartment id is no longer needed
	s.occupied--
	s.active--
	if by == "attacker" {
		p.flags |= fStolen
	} else {
		w.stats.dwell.add(now.Sub(unixAt(p.deposited)))
		if p.waited > 0 {
			if s.attacked {
				w.stats.recipDelay.add(time.Duration(p.waited) * time.Second)
			} else {
				w.stats.recipDelayQuiet.add(time.Duration(p.waited) * time.Second)
			}
		}
	}
	w.stats.count(sPickedUp, now, 1)
}

// replay is someone trying a used PIN or QR code again: it must not open.
func (w *World) replay(ctx context.Context, idx int, pin, token string) {
	w.mu.Lock()
	p := &w.parcels[idx]
	s := w.sites[p.site]
	id := p.id.String()
	w.mu.Unlock()
	var err error
	w.stats.count(sReplays, w.Now(), 1)
	if token != "" {
		if _, terr := w.qrToken(ctx, id); terr == nil {
			w.Violation("grant_reused", "the tracking page of %s still shows a pickup code after the pickup", id)
		}
		err = w.timed("pickup_qr", func() error {
			_, err := w.svc.PickupQR(ctx, s.kiosk, s.id, token)
			return err
		})
	} else {
		digits := phoneOf(idx)[len(phoneOf(idx))-parcelguard.PhoneFactorDigits:]
		err = w.timed("pickup", func() error {
			_, err := w.svc.Pickup(ctx, s.kiosk, s.id, pin, digits)
			return err
		})
	}
	if err == nil {
		w.Violation("grant_reused", "a used pickup code of %s worked again", id)
		return
	}
	w.checks.ok()
}
