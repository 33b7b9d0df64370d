package service

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/parcelguard/parcelguard"
)

// timerBatch is how many due timers one scheduler pass fires. They fire in
// chunks of Config.TimerChunk, each chunk in one transaction, and
// timerWorkers fire chunks concurrently so the store can commit them
// together. On SQLite a transaction per timer made the savepoints, commits
// and hand-offs to the writer cost more than the timers' own work.
const (
	timerBatch   = 256
	timerWorkers = 8
)

// FireDueTimers fires every timer due at the clock's now and returns how
// many fired. A timer fires in the transaction that first claims (deletes)
// its row, so it fires exactly once even with several schedulers running,
// and one that was due while the process was down fires on the next pass.
// Timers fire a chunk to a transaction; a chunk that fails is fired again
// timer by timer, so a timer that cannot fire holds back no other.
func (s *Service) FireDueTimers(ctx context.Context) (int, error) {
	total := 0
	for {
		var due []*parcelguard.Timer
		err := s.store.View(ctx, func(tx parcelguard.Tx) (err error) {
			due, err = tx.DueTimers(ctx, s.clock.Now(), timerBatch)
			return err
		})
		if err != nil {
			return total, fmt.Errorf("due timers: %w", err)
		}
		s.metrics.TimersDue.Set(float64(len(due)))
		fired, err := s.fireAll(ctx, due)
		total += fired
		if err != nil || len(due) < timerBatch || fired == 0 {
			return total, err
		}
	}
}

func (s *Service) fireAll(ctx context.Context, due []*parcelguard.Timer) (int, error) {
	var (
		mu     sync.Mutex
		fired  int
		errs   []error
		wg     sync.WaitGroup
		chunks = make(chan []*parcelguard.Timer)
	)
	cs := chunkTimers(due, s.timerChunk)
	for range min(timerWorkers, len(cs)) {
		wg.Go(func() {
			for c := range chunks {
				ok, err := s.fireChunk(ctx, c)
				mu.Lock()
				fired += ok
				if err != nil {
					errs = append(errs, err)
				}
				mu.Unlock()
			}
		})
	}
	for _, c := range cs {
		chunks <- c
	}
	close(chunks)
	wg.Wait()
	return fired, errors.Join(errs...)
}

// chunkTimers packs due timers into chunks of about size, keeping
// each parcel's timers together and in due order: concurrent chunks must
// not race over one parcel (an expiry cancels the reminder; fired in
// order, an overdue reminder goes out before the expiry notice).
func chunkTimers(due []*parcelguard.Timer, size int) [][]*parcelguard.Timer {
	byParcel := map[string][]*parcelguard.Timer{}
	var order []string
	for _, t := range due {
		if _, ok := byParcel[t.ParcelID]; !ok {
			order = append(order, t.ParcelID)
		}
		byParcel[t.ParcelID] = append(byParcel[t.ParcelID], t)
	}
	var (
		chunks [][]*parcelguard.Timer
		cur    []*parcelguard.Timer
	)
	for _, id := range order {
		cur = append(cur, byParcel[id]...)
		if len(cur) >= size {
			chunks, cur = append(chunks, cur), nil
		}
	}
	if len(cur) > 0 {
		chunks = append(chunks, cur)
	}
	return chunks
}

// fireChunk claims and runs timers in one transaction and returns how many
// fired. If that transaction fails, it fires each timer on its own.
func (s *Service) fireChunk(ctx context.Context, ts []*parcelguard.Timer) (int, error) {
	if len(ts) == 1 {
		ok, err := s.fire(ctx, ts[0])
		if ok {
			return 1, err
		}
		return 0, err
	}
	claimed := make([]bool, len(ts))
	err := s.update(ctx, func(tx parcelguard.Tx) error {
		for i, t := range ts {
			var err error
			if claimed[i], err = s.claimAndRun(ctx, tx, t); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		fired := 0
		for i, t := range ts {
			if claimed[i] {
				fired++
				s.metrics.TimersFired.WithLabelValues(string(t.Kind)).Inc()
			}
		}
		return fired, nil
	}
	if ctx.Err() != nil {
		return 0, fmt.Errorf("fire %d timers: %w", len(ts), err)
	}
	fired := 0
	var errs []error
	for _, t := range ts {
		ok, err := s.fire(ctx, t)
		if ok {
			fired++
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return fired, errors.Join(errs...)
}

// fire claims and runs one timer in one transaction.
func (s *Service) fire(ctx context.Context, t *parcelguard.Timer) (bool, error) {
	var claimed bool
	err := s.update(ctx, func(tx parcelguard.Tx) (err error) {
		claimed, err = s.claimAndRun(ctx, tx, t)
		return err
	})
	if err != nil {
		return false, err // claimAndRun names the timer
	}
	if claimed {
		s.metrics.TimersFired.WithLabelValues(string(t.Kind)).Inc()
	}
	return claimed, nil
}

// claimAndRun claims t in tx and, if it was still there, runs it.
func (s *Service) claimAndRun(ctx context.Context, tx parcelguard.Tx, t *parcelguard.Timer) (bool, error) {
	claimed, err := tx.ClaimTimer(ctx, t.ID)
	if err != nil {
		return false, fmt.Errorf("claim %s timer %s of parcel %s: %w", t.Kind, t.ID, t.ParcelID, err)
	}
	if !claimed {
		return false, nil
	}
	switch t.Kind {
	case parcelguard.TimerExpiry:
		err = s.expire(ctx, tx, t.ParcelID)
	case parcelguard.TimerReminder:
		err = s.remind(ctx, tx, t.ParcelID)
	case parcelguard.TimerDoorstepRedeliver:
		err = s.redeliver(ctx, tx, t.ParcelID)
	case parcelguard.TimerDoorstepDayEnd:
		err = s.endDeliveryDay(ctx, tx, t.ParcelID)
	default:
		err = fmt.Errorf("unknown timer kind %q", t.Kind)
	}
	if err != nil {
		return false, fmt.Errorf("fire %s timer %s of parcel %s: %w", t.Kind, t.ID, t.ParcelID, err)
	}
	return true, nil
}

// expire ends the storage of a parcel that was not picked up: its pickup
// code stops working and it joins the site's return-collection queue.
func (s *Service) expire(ctx context.Context, tx parcelguard.Tx, parcelID string) error {
	x, err := tx.Parcel(ctx, parcelID)
	if err != nil {
		return err
	}
	if x.State != parcelguard.ParcelDeposited {
		return nil // picked up (or otherwise moved on) in the meantime
	}
	if err := x.Transition(parcelguard.ParcelExpired, s.clock.Now()); err != nil {
		return err
	}
	grants, err := tx.GrantsOfParcel(ctx, x.ID)
	if err != nil {
		return err
	}
	for _, g := range grants {
		if g.Purpose != parcelguard.PurposePickup || (g.State != parcelguard.GrantActive && g.State != parcelguard.GrantLocked) {
			continue
		}
		g.End(parcelguard.GrantExpired)
		if err := tx.SaveGrant(ctx, g); err != nil {
			return err
		}
		if err := s.deviceGrantEnded(ctx, tx, g, "expired"); err != nil {
			return err
		}
	}
	if err := tx.SaveParcel(ctx, x); err != nil {
		return err
	}
	if err := tx.CancelTimers(ctx, x.ID, parcelguard.TimerReminder); err != nil {
		return err
	}
	e := &parcelguard.Event{Kind: parcelguard.EventParcelExpired, SiteID: x.SiteID, CompartmentID: x.CompartmentID, ParcelID: x.ID}
	if err := s.appendEvent(ctx, tx, parcelguard.System, e); err != nil {
		return err
	}
	return s.notifyExpired(ctx, tx, x, e)
}

// remind records the reminder due before the deadline of a parcel still
// waiting in its locker.
func (s *Service) remind(ctx context.Context, tx parcelguard.Tx, parcelID string) error {
	x, err := tx.Parcel(ctx, parcelID)
	if err != nil {
		return err
	}
	if x.State != parcelguard.ParcelDeposited {
		return nil
	}
	if err := s.notifyReminder(ctx, tx, x); err != nil {
		return err
	}
	return s.appendEvent(ctx, tx, parcelguard.System, &parcelguard.Event{Kind: parcelguard.EventParcelReminded,
		SiteID: x.SiteID, ParcelID: x.ID, Data: map[string]string{"deadline": x.Deadline.Format(time.RFC3339)}})
}

// RunScheduler fires due timers until ctx ends, polling every interval of
// real time; due-ness is judged by the injected clock, so tests and the
// simulator move time without sleeping.
func (s *Service) RunScheduler(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := s.FireDueTimers(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			s.log.Error("scheduler pass failed", "err", err, "fired", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
