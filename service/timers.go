package service

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/parcelguard/parcelguard"
)

// timerBatch is how many due timers one scheduler pass fires; timerWorkers
// fire them concurrently so the store can commit them together.
const (
	timerBatch   = 256
	timerWorkers = 8
)

// FireDueTimers fires every timer due at the clock's now and returns how
// many fired. Each fires in its own transaction that first claims (deletes)
// the timer row, so a timer fires exactly once even with several schedulers
// running, and one that was due while the process was down fires on the
// next pass.
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
		mu    sync.Mutex
		fired int
		errs  []error
		wg    sync.WaitGroup
		next  = make(chan *parcelguard.Timer)
	)
	for range min(timerWorkers, len(due)) {
		wg.Go(func() {
			for t := range next {
				ok, err := s.fire(ctx, t)
				mu.Lock()
				if ok {
					fired++
				}
				if err != nil {
					errs = append(errs, err)
				}
				mu.Unlock()
			}
		})
	}
	for _, t := range due {
		next <- t
	}
	close(next)
	wg.Wait()
	return fired, errors.Join(errs...)
}

// fire claims and runs one timer in one transaction.
func (s *Service) fire(ctx context.Context, t *parcelguard.Timer) (bool, error) {
	var claimed bool
	err := s.update(ctx, func(tx parcelguard.Tx) (err error) {
		if claimed, err = tx.ClaimTimer(ctx, t.ID); err != nil || !claimed {
			return err
		}
		switch t.Kind {
		case parcelguard.TimerExpiry:
			return s.expire(ctx, tx, t.ParcelID)
		case parcelguard.TimerReminder:
			return s.remind(ctx, tx, t.ParcelID)
		case parcelguard.TimerDoorstepRedeliver:
			return s.redeliver(ctx, tx, t.ParcelID)
		case parcelguard.TimerDoorstepDayEnd:
			return s.endDeliveryDay(ctx, tx, t.ParcelID)
		}
		return fmt.Errorf("unknown timer kind %q", t.Kind)
	})
	if err != nil {
		return false, fmt.Errorf("fire %s timer %s of parcel %s: %w", t.Kind, t.ID, t.ParcelID, err)
	}
	if claimed {
		s.metrics.TimersFired.WithLabelValues(string(t.Kind)).Inc()
	}
	return claimed, nil
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
