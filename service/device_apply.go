package service

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/devicemsg"
)

// ApplyDeviceEvent applies one event a locker reported, exactly once: the
// event id is recorded in the same transaction as its effects, so a
// redelivered event changes nothing. It returns an error only when trying
// again may help (the store is down); an event that can never apply (an
// unknown grant, another site's grant) is recorded as device.rejected and
// acknowledged. The event's LockerID is the site id, vouched for by the
// device channel (a locker can publish only on its own subjects).
func (s *Service) ApplyDeviceEvent(ctx context.Context, ev devicemsg.Event) error {
	if err := ev.Validate(); err != nil {
		return fmt.Errorf("apply device event: %w", err)
	}
	siteID := ev.LockerID
	if ev.Kind == devicemsg.EventHeartbeat {
		return s.recordHeartbeat(ctx, siteID, ev.At)
	}
	err := s.update(ctx, func(tx parcelguard.Tx) error {
		fresh, err := tx.MarkDeviceEventApplied(ctx, &parcelguard.AppliedDeviceEvent{ID: ev.ID, SiteID: siteID,
			Seq: int64(ev.Seq), Kind: string(ev.Kind), At: ev.At, AppliedAt: s.clock.Now()})
		if err != nil || !fresh {
			return err
		}
		if err := tx.TouchLocker(ctx, siteID, ev.At); err != nil && !errors.Is(err, parcelguard.ErrNotFound) {
			return err
		}
		return s.applyDeviceEvent(ctx, tx, ev)
	})
	if err != nil {
		return fmt.Errorf("apply device event %s from %s: %w", ev.ID, siteID, err)
	}
	return nil
}

// recordHeartbeat notes that a locker is alive. Heartbeats are not audit
// events (one every few seconds per locker) and need no deduplication:
// applying one twice changes nothing.
func (s *Service) recordHeartbeat(ctx context.Context, siteID string, at time.Time) error {
	err := s.update(ctx, func(tx parcelguard.Tx) error {
		err := tx.TouchLocker(ctx, siteID, at)
		if errors.Is(err, parcelguard.ErrNotFound) {
			return nil // provisioned elsewhere or retired: nothing to track
		}
		if err != nil {
			return err
		}
		// Back after longer than the stream keeps commands: some may be
		// gone, so send the locker everything it should hold.
		st, err := tx.LockerStatus(ctx, siteID)
		if err != nil {
			return err
		}
		if !st.LastSeen.IsZero() && s.clock.Now().Sub(st.LastSeen) > CommandRetention {
			s.log.Warn("locker back after a long silence: resyncing its grants", "site", siteID, "last_seen", st.LastSeen)
			return s.resyncLocker(ctx, tx, siteID, "gap:"+strconv.FormatInt(st.LastSeen.UnixNano(), 10))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("heartbeat of %s: %w", siteID, err)
	}
	// The outage sweep counts silence from when the cloud last heard the
	// locker, not from when the locker wrote the event.
	return s.LockerHeartbeat(ctx, siteID, s.clock.Now())
}

// deviceData is the audit data of a locker event: its own details plus
// where it came from.
func deviceData(ev devicemsg.Event) map[string]string {
	d := make(map[string]string, len(ev.Data)+3)
	for k, v := range ev.Data {
		d[k] = v
	}
	d["device_event"] = ev.ID
	d["device_seq"] = strconv.FormatUint(ev.Seq, 10)
	d["device_at"] = ev.At.UTC().Format(time.RFC3339Nano)
	return d
}

func (s *Service) applyDeviceEvent(ctx context.Context, tx parcelguard.Tx, ev devicemsg.Event) error {
	siteID := ev.LockerID
	p := parcelguard.Principal{Role: parcelguard.RoleKiosk, SiteID: siteID}
	e := &parcelguard.Event{SiteID: siteID, Data: deviceData(ev)}
	if ev.Compartment != "" {
		c, err := tx.Compartment(ctx, ev.Compartment)
		switch {
		case errors.Is(err, parcelguard.ErrNotFound):
			return s.rejectDeviceEvent(ctx, tx, p, ev, "unknown_compartment")
		case err != nil:
			return err
		case c.SiteID != siteID:
			return s.rejectDeviceEvent(ctx, tx, p, ev, "foreign_compartment")
		}
		e.CompartmentID = c.ID
		e.Data["label"] = c.Label
	}
	if len(ev.GrantIDs) > 0 {
		e.GrantID = ev.GrantIDs[0]
	}
	switch {
	case ev.Kind == devicemsg.EventPickup:
		return s.applyLockerPickup(ctx, tx, p, ev)
	case ev.Kind == devicemsg.EventDeposit:
		return s.applyLockerDeposit(ctx, tx, p, ev)
	case ev.Kind == devicemsg.AlarmGrantLocked:
		return s.applyLockerGrantLocked(ctx, tx, p, ev, e)
	case ev.Kind == devicemsg.EventDoorOpened:
		e.Kind = parcelguard.EventDoorOpened
	case ev.Kind == devicemsg.EventDoorClosed:
		e.Kind = parcelguard.EventDoorClosed
	case ev.Kind.IsAlarm():
		e.Kind = parcelguard.EventKind(ev.Kind)
		s.log.Warn("locker alarm", "site", siteID, "kind", ev.Kind, "compartment", ev.Compartment, "event", ev.ID)
	default:
		// Return collections at the locker go through the courier API; a
		// locker reporting one is kept for the record only.
		return s.rejectDeviceEvent(ctx, tx, p, ev, "unsupported_kind")
	}
	return s.appendEvent(ctx, tx, p, e)
}

func (s *Service) rejectDeviceEvent(ctx context.Context, tx parcelguard.Tx, p parcelguard.Principal, ev devicemsg.Event, reason string) error {
	d := deviceData(ev)
	d["reason"], d["kind"] = reason, string(ev.Kind)
	if ev.Compartment != "" {
		d["compartment"] = ev.Compartment
	}
	s.log.Warn("locker event rejected", "site", ev.LockerID, "event", ev.ID, "kind", ev.Kind, "reason", reason)
	return s.appendEvent(ctx, tx, p, &parcelguard.Event{Kind: parcelguard.EventDeviceRejected, SiteID: ev.LockerID, Data: d})
}

// applyLockerPickup records a pickup the locker verified and opened,
// possibly while offline. The door did open, so the cloud follows the
// locker: an active grant is used at the locker's time. A parcel the cloud
// expired while the locker was cut off, but taken before its deadline, is
// picked up, not expired. A grant the cloud saw used already (or taken
// after its deadline) is a conflict the operator must look at.
func (s *Service) applyLockerPickup(ctx context.Context, tx parcelguard.Tx, p parcelguard.Principal, ev devicemsg.Event) error {
	if len(ev.GrantIDs) != 1 {
		return s.rejectDeviceEvent(ctx, tx, p, ev, "grant_count")
	}
	g, err := tx.Grant(ctx, ev.GrantIDs[0])
	if errors.Is(err, parcelguard.ErrNotFound) {
		return s.rejectDeviceEvent(ctx, tx, p, ev, "unknown_grant")
	}
	if err != nil {
		return err
	}
	if g.SiteID != ev.LockerID || g.Purpose != parcelguard.PurposePickup || (ev.Compartment != "" && ev.Compartment != g.CompartmentID) {
		return s.rejectDeviceEvent(ctx, tx, p, ev, "foreign_grant")
	}
	x, err := tx.Parcel(ctx, g.ParcelID)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	d := deviceData(ev)
	switch {
	case g.State == parcelguard.GrantActive && x.State == parcelguard.ParcelDeposited:
		if err := x.Transition(parcelguard.ParcelPickedUp, now); err != nil {
			return err
		}
	case (g.State == parcelguard.GrantExpired || g.State == parcelguard.GrantLocked) && x.State == parcelguard.ParcelExpired &&
		ev.At.Before(g.ExpiresAt):
		// The expiry was the cloud's view while the locker was cut off;
		// the handover happened before the deadline. No transition of the
		// state machine undoes an expiry, so this correction is explicit
		// and audited.
		d["reconciled_from"] = string(x.State)
		x.State, x.UpdatedAt = parcelguard.ParcelPickedUp, now
	default:
		d["grant_state"], d["parcel_state"] = string(g.State), string(x.State)
		s.log.Warn("locker pickup conflicts with the cloud", "site", ev.LockerID, "grant", g.ID, "grant_state", g.State, "parcel_state", x.State)
		return s.appendEvent(ctx, tx, p, &parcelguard.Event{Kind: parcelguard.EventDeviceConflict, SiteID: ev.LockerID,
			CompartmentID: g.CompartmentID, ParcelID: x.ID, GrantID: g.ID, Data: d})
	}
	g.State, g.UsedAt = parcelguard.GrantUsed, ev.At
	c, err := tx.Compartment(ctx, g.CompartmentID)
	if err != nil {
		return err
	}
	c.Release(x.ID)
	delegate, err := delegateOf(ctx, tx, g)
	if err != nil {
		return err
	}
	d["label"], d["by"], d["via"] = c.Label, "recipient", "locker"
	if delegate != "" {
		d["by"], d["delegate"] = "delegate", delegate
	}
	for _, save := range []func() error{
		func() error { return tx.SaveGrant(ctx, g) },
		func() error { return s.endOtherPickupGrants(ctx, tx, x.ID, g.ID) },
		func() error { return tx.SaveParcel(ctx, x) },
		func() error { return tx.SaveCompartment(ctx, c) },
		func() error { return tx.CancelTimers(ctx, x.ID) },
	} {
		if err := save(); err != nil {
			return err
		}
	}
	e := &parcelguard.Event{Kind: parcelguard.EventParcelPickedUp, SiteID: x.SiteID,
		CompartmentID: c.ID, ParcelID: x.ID, GrantID: g.ID, Data: d}
	if err := s.appendEvent(ctx, tx, p, e); err != nil {
		return err
	}
	return s.notifyPickedUp(ctx, tx, x, g, delegate, e)
}

// applyLockerGrantLocked records a grant the locker disabled after too many
// wrong phone digits: the alarm is audited like any other, and the cloud's
// copy of the grant is locked too, so the tracking page and the cloud's
// kiosk API agree with the locker (a pickup elsewhere would otherwise see
// an active grant the locker refuses).
func (s *Service) applyLockerGrantLocked(ctx context.Context, tx parcelguard.Tx, p parcelguard.Principal, ev devicemsg.Event, alarm *parcelguard.Event) error {
	if len(ev.GrantIDs) != 1 {
		return s.rejectDeviceEvent(ctx, tx, p, ev, "grant_count")
	}
	g, err := tx.Grant(ctx, ev.GrantIDs[0])
	switch {
	case errors.Is(err, parcelguard.ErrNotFound):
		return s.rejectDeviceEvent(ctx, tx, p, ev, "unknown_grant")
	case err != nil:
		return err
	case g.SiteID != ev.LockerID:
		return s.rejectDeviceEvent(ctx, tx, p, ev, "foreign_grant")
	}
	alarm.Kind, alarm.ParcelID, alarm.GrantID = parcelguard.EventKind(ev.Kind), g.ParcelID, g.ID
	s.log.Warn("locker alarm", "site", ev.LockerID, "kind", ev.Kind, "grant", g.ID, "event", ev.ID)
	if err := s.appendEvent(ctx, tx, p, alarm); err != nil {
		return err
	}
	if g.State != parcelguard.GrantActive {
		return nil // used, expired or locked already: the alarm is the record
	}
	g.State, g.Failures = parcelguard.GrantLocked, max(g.Failures, parcelguard.MaxGrantFailures)
	if err := tx.SaveGrant(ctx, g); err != nil {
		return err
	}
	s.metrics.GrantLockouts.Inc()
	d := deviceData(ev)
	d["via"] = "locker"
	return s.appendEvent(ctx, tx, p, &parcelguard.Event{Kind: parcelguard.EventGrantLocked, SiteID: ev.LockerID,
		CompartmentID: g.CompartmentID, ParcelID: g.ParcelID, GrantID: g.ID, Data: d})
}
