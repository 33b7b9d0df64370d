package service

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/parcelguard/parcelguard"
)

// A broken locker never sends a parcel back. A site is down while an
// operator has it out of service or while it stays silent (no heartbeat)
// longer than the sweep's limit; a compartment is down while it is out of
// order holding a parcel. SweepOutages holds every deposited parcel behind
// a down site or compartment: in one transaction per parcel it records the
// hold, suspends the expiry and reminder timers (so the expiry timer cannot
// return it), appends parcel.storage_held and tells the recipient. When the
// outage is over the next sweep releases the hold: the deadline becomes
// parcelguard.ExtendedDeadline (moved by the outage's length, and at least
// parcelguard.MinPickupAfterOutage after its end), the pickup grants and
// timers follow, parcel.deadline_extended is appended and the recipient
// gets the new deadline.

// maxHeartbeatSkew is how far in the future a locker's own clock may put a
// heartbeat; later times are taken as now.
const maxHeartbeatSkew = time.Minute

// LockerHeartbeat records that the locker of siteID was heard from at at:
// when its heartbeat or any message from it arrived (the time of receipt,
// not the time an event flushed from its outbox happened). A locker that was unreachable is
// reachable again (site.reachable); its parcels are released by the next
// sweep. Heartbeats arriving out of order never move LastSeen back.
func (s *Service) LockerHeartbeat(ctx context.Context, siteID string, at time.Time) error {
	now := s.clock.Now()
	if at.IsZero() || at.After(now.Add(maxHeartbeatSkew)) {
		at = now
	}
	err := s.update(ctx, func(tx parcelguard.Tx) error {
		if _, err := tx.Site(ctx, siteID); err != nil {
			return err
		}
		st, err := tx.LockerStatus(ctx, siteID)
		if err != nil {
			return err
		}
		if !at.After(st.LastSeen) && st.Version > 0 {
			return nil // an older or repeated heartbeat: nothing new
		}
		st.LastSeen = at
		back := st.Unreachable
		if back {
			st.Unreachable = false
		}
		if err := tx.SaveLockerStatus(ctx, st); err != nil {
			return err
		}
		if !back {
			return nil
		}
		return s.appendEvent(ctx, tx, parcelguard.System, &parcelguard.Event{Kind: parcelguard.EventSiteReachable, SiteID: siteID,
			Data: map[string]string{"since": st.UnreachableSince.Format(time.RFC3339), "seen": at.Format(time.RFC3339)}})
	})
	if err != nil {
		return fmt.Errorf("heartbeat of site %s: %w", siteID, err)
	}
	return nil
}

// SetSiteOutOfService takes a site out of service (out true, with a note
// saying why) or puts it back; operators and admins only. The site's
// parcels are held or released by the next sweep.
func (s *Service) SetSiteOutOfService(ctx context.Context, p parcelguard.Principal, siteID string, out bool, note string) error {
	if err := require(p, parcelguard.RoleOperator); err != nil {
		return err
	}
	if len(note) > 500 {
		return parcelguard.Invalid(parcelguard.FieldError{Field: "note", Message: "must be at most 500 characters"})
	}
	err := s.update(ctx, func(tx parcelguard.Tx) error {
		if _, err := tx.Site(ctx, siteID); err != nil {
			return err
		}
		st, err := tx.LockerStatus(ctx, siteID)
		if err != nil {
			return err
		}
		if st.OutOfService == out {
			return nil
		}
		kind := parcelguard.EventSiteBackInService
		data := map[string]string{}
		if out {
			kind = parcelguard.EventSiteOutOfService
			st.OutOfServiceSince, st.OutOfServiceNote = s.clock.Now(), note
			data["note"] = note
		} else {
			data["since"] = st.OutOfServiceSince.Format(time.RFC3339)
			st.OutOfServiceNote = ""
		}
		st.OutOfService = out
		if err := tx.SaveLockerStatus(ctx, st); err != nil {
			return err
		}
		return s.appendEvent(ctx, tx, p, &parcelguard.Event{Kind: kind, SiteID: siteID, Data: data})
	})
	if err != nil {
		return fmt.Errorf("set site %s out of service=%v: %w", siteID, out, err)
	}
	return nil
}

// OutageSweep counts what one sweep did.
type OutageSweep struct {
	// Unreachable is how many sites were newly declared unreachable.
	Unreachable int
	// Held and Released count parcels newly held and released (with their
	// deadline extended, if still waiting for pickup).
	Held, Released int
}

// SweepOutages declares sites unreachable that were silent longer than
// silence, holds the parcels of down sites and compartments, and releases
// (extending their deadlines) the parcels whose outage ended. Each parcel
// changes in its own transaction; a sweep that fails half-way is finished
// by the next one, and several sweepers may run: a parcel is held and
// released once.
func (s *Service) SweepOutages(ctx context.Context, silence time.Duration) (OutageSweep, error) {
	if silence <= 0 {
		silence = parcelguard.DefaultUnreachableAfter
	}
	var (
		sum   OutageSweep
		errs  []error
		holds []*parcelguard.ParcelHold
		want  map[string]*parcelguard.ParcelHold
	)
	var statuses []*parcelguard.LockerStatus
	if err := s.store.View(ctx, func(tx parcelguard.Tx) (err error) {
		statuses, err = tx.LockerStatuses(ctx)
		return err
	}); err != nil {
		return sum, fmt.Errorf("sweep outages: %w", err)
	}
	for _, st := range statuses {
		if st.Unreachable || st.LastSeen.IsZero() || s.clock.Now().Sub(st.LastSeen) <= silence {
			continue
		}
		ok, err := s.declareUnreachable(ctx, st.SiteID, silence)
		if err != nil {
			errs = append(errs, err)
		} else if ok {
			sum.Unreachable++
		}
	}
	err := s.store.View(ctx, func(tx parcelguard.Tx) (err error) {
		if want, err = s.wantedHolds(ctx, tx); err != nil {
			return err
		}
		holds, err = tx.ParcelHolds(ctx)
		return err
	})
	if err != nil {
		return sum, errors.Join(append(errs, fmt.Errorf("sweep outages: %w", err))...)
	}
	held := map[string]bool{}
	for _, h := range holds {
		held[h.ParcelID] = true
		if _, ok := want[h.ParcelID]; ok {
			continue
		}
		ok, err := s.releaseParcel(ctx, h.ParcelID)
		if err != nil {
			errs = append(errs, err)
		} else if ok {
			sum.Released++
		}
	}
	for id, h := range want {
		if held[id] {
			continue
		}
		ok, err := s.holdParcel(ctx, h)
		if err != nil {
			errs = append(errs, err)
		} else if ok {
			sum.Held++
		}
	}
	return sum, errors.Join(errs...)
}

// declareUnreachable marks a silent site unreachable, if it still is silent.
func (s *Service) declareUnreachable(ctx context.Context, siteID string, silence time.Duration) (bool, error) {
	var done bool
	err := s.update(ctx, func(tx parcelguard.Tx) error {
		done = false
		st, err := tx.LockerStatus(ctx, siteID)
		if err != nil {
			return err
		}
		if st.Unreachable || st.LastSeen.IsZero() || s.clock.Now().Sub(st.LastSeen) <= silence {
			return nil // a heartbeat or another sweeper came first
		}
		st.Unreachable, st.UnreachableSince = true, st.LastSeen
		if err := tx.SaveLockerStatus(ctx, st); err != nil {
			return err
		}
		done = true
		return s.appendEvent(ctx, tx, parcelguard.System, &parcelguard.Event{Kind: parcelguard.EventSiteUnreachable, SiteID: siteID,
			Data: map[string]string{"last_seen": st.LastSeen.Format(time.RFC3339), "silence": silence.String()}})
	})
	if err != nil {
		return false, fmt.Errorf("declare site %s unreachable: %w", siteID, err)
	}
	return done, nil
}

// sitePageSize is how many parcels of a down site are read at a time.
const sitePageSize = 500

// wantedHolds returns the holds the current outages call for, by parcel:
// every deposited parcel of a down site (since the site went down), and
// every parcel in a broken compartment (since now: a compartment's state
// carries no time). A parcel behind both keeps the earlier start.
func (s *Service) wantedHolds(ctx context.Context, tx parcelguard.Tx) (map[string]*parcelguard.ParcelHold, error) {
	want := map[string]*parcelguard.ParcelHold{}
	statuses, err := tx.LockerStatuses(ctx)
	if err != nil {
		return nil, err
	}
	for _, st := range statuses {
		down, since := st.Down()
		if !down {
			continue
		}
		cause := parcelguard.CauseOutOfService
		if st.Unreachable && (!st.OutOfService || !st.OutOfServiceSince.Before(st.UnreachableSince)) {
			cause = parcelguard.CauseUnreachable
		}
		for after := ""; ; {
			page, err := tx.Parcels(ctx, parcelguard.ParcelFilter{SiteID: st.SiteID, State: parcelguard.ParcelDeposited, After: after, Limit: sitePageSize})
			if err != nil {
				return nil, err
			}
			for _, x := range page {
				want[x.ID] = &parcelguard.ParcelHold{ParcelID: x.ID, SiteID: x.SiteID, CompartmentID: x.CompartmentID, Cause: cause, Since: since}
			}
			if len(page) < sitePageSize {
				break
			}
			after = page[len(page)-1].ID
		}
	}
	broken, err := tx.BrokenCompartments(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range broken {
		if _, ok := want[c.ParcelID]; ok {
			continue
		}
		want[c.ParcelID] = &parcelguard.ParcelHold{ParcelID: c.ParcelID, SiteID: c.SiteID, CompartmentID: c.ID,
			Cause: parcelguard.CauseCompartment, Since: s.clock.Now()}
	}
	return want, nil
}

// holdParcel suspends a deposited parcel's storage clock.
func (s *Service) holdParcel(ctx context.Context, want *parcelguard.ParcelHold) (bool, error) {
	var done bool
	err := s.update(ctx, func(tx parcelguard.Tx) error {
		done = false
		x, err := tx.Parcel(ctx, want.ParcelID)
		if err != nil {
			return err
		}
		if x.State != parcelguard.ParcelDeposited {
			return nil // picked up or expired before the sweep got to it
		}
		h := *want
		h.Deadline = x.Deadline
		if h.Since.Before(x.UpdatedAt) {
			h.Since = x.UpdatedAt // the outage cannot have held it before it was deposited
		}
		if err := tx.HoldParcel(ctx, &h); errors.Is(err, parcelguard.ErrDuplicate) {
			return nil // another sweeper holds it already
		} else if err != nil {
			return err
		}
		if err := tx.CancelTimers(ctx, x.ID, parcelguard.TimerExpiry, parcelguard.TimerReminder); err != nil {
			return err
		}
		since := h.Since.Format(time.RFC3339)
		if err := s.notifyRecipient(ctx, tx, x, parcelguard.MessageOutage, x.ID+":"+strconv.FormatInt(h.Since.Unix(), 10), "",
			map[string]string{"cause": string(h.Cause)}); err != nil {
			return err
		}
		done = true
		return s.appendEvent(ctx, tx, parcelguard.System, &parcelguard.Event{Kind: parcelguard.EventParcelStorageHeld,
			SiteID: x.SiteID, CompartmentID: x.CompartmentID, ParcelID: x.ID,
			Data: map[string]string{"cause": string(h.Cause), "since": since, "deadline": x.Deadline.Format(time.RFC3339)}})
	})
	if err != nil {
		return false, fmt.Errorf("hold parcel %s: %w", want.ParcelID, err)
	}
	return done, nil
}

// releaseParcel ends a parcel's hold and, if it still waits for pickup,
// extends its deadline by the rule.
func (s *Service) releaseParcel(ctx context.Context, parcelID string) (bool, error) {
	var done bool
	err := s.update(ctx, func(tx parcelguard.Tx) error {
		done = false
		h, err := tx.ReleaseParcel(ctx, parcelID)
		if err != nil || h == nil {
			return err // nil: another sweeper released it
		}
		done = true
		x, err := tx.Parcel(ctx, parcelID)
		if err != nil {
			return err
		}
		if x.State != parcelguard.ParcelDeposited {
			return nil // collected during the outage (an offline locker still serves its grants)
		}
		now := s.clock.Now()
		from := x.Deadline
		x.Deadline = parcelguard.ExtendedDeadline(x.Deadline, h.Since, now)
		x.UpdatedAt = now
		if err := tx.SaveParcel(ctx, x); err != nil {
			return err
		}
		grants, err := tx.GrantsOfParcel(ctx, x.ID)
		if err != nil {
			return err
		}
		for _, g := range grants {
			if g.Purpose != parcelguard.PurposePickup || (g.State != parcelguard.GrantActive && g.State != parcelguard.GrantLocked) ||
				!g.ExpiresAt.Before(x.Deadline) {
				continue
			}
			g.ExpiresAt = x.Deadline
			if err := tx.SaveGrant(ctx, g); err != nil {
				return err
			}
			if err := s.deviceGrantExtended(ctx, tx, g); err != nil {
				return err
			}
		}
		if err := s.scheduleStorageTimers(ctx, tx, x); err != nil {
			return err
		}
		if err := s.notifyRecipient(ctx, tx, x, parcelguard.MessageDeadlineExtended, x.ID+":"+strconv.FormatInt(x.Deadline.Unix(), 10), "",
			map[string]string{"deadline": x.Deadline.Format(time.RFC3339)}); err != nil {
			return err
		}
		return s.recordForCarrier(ctx, tx, parcelguard.System, x, &parcelguard.Event{Kind: parcelguard.EventParcelDeadlineExtended,
			SiteID: x.SiteID, CompartmentID: x.CompartmentID, ParcelID: x.ID,
			Data: map[string]string{"cause": string(h.Cause), "outage_from": h.Since.Format(time.RFC3339),
				"outage_to": now.Format(time.RFC3339), "from": from.Format(time.RFC3339), "to": x.Deadline.Format(time.RFC3339)}},
			map[string]string{"by": "outage"})
	})
	if err != nil {
		return false, fmt.Errorf("release parcel %s: %w", parcelID, err)
	}
	return done, nil
}

// RunOutageSweep sweeps every interval of real time until ctx ends,
// declaring sites unreachable after silence; like the scheduler it judges
// time by the injected clock.
func (s *Service) RunOutageSweep(ctx context.Context, interval, silence time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if sum, err := s.SweepOutages(ctx, silence); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			s.log.Error("outage sweep failed", "err", err, "held", sum.Held, "released", sum.Released)
		} else if sum != (OutageSweep{}) {
			s.log.Info("outage sweep", "unreachable", sum.Unreachable, "held", sum.Held, "released", sum.Released)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
