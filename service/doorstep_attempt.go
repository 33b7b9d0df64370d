package service

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/parcelguard/parcelguard"
)

// FailAttempt records that the courier, at pos, could not deliver the
// parcel for reason. Like a verification it needs the courier within the
// carrier's radius of the address: a claim from farther away (a "not at
// home" from 5 km) is refused with ErrCourierAway and audited as
// doorstep.position_mismatch, and spends no attempt; the parcel stays out
// for delivery, so the courier can still go there, and if nobody does,
// the end of the day records the attempt as not_delivered. The position
// and distance of an accepted attempt are in its audit event. The day's
// passwords stop working. Before the
// carrier's last attempt the parcel is rescheduled to the next working day
// of the recipient's country, where it goes out again with a new password;
// after it, the parcel is redirected to the nearest locker with a free
// compartment that fits it, or returned to its sender, as the carrier's
// policy says.
func (s *Service) FailAttempt(ctx context.Context, p parcelguard.Principal, id string, reason parcelguard.AttemptReason, pos Position) (*DoorstepParcel, error) {
	if err := require(p, parcelguard.RoleCourier, parcelguard.RoleOperator); err != nil {
		return nil, err
	}
	if !reason.Valid() {
		return nil, parcelguard.Invalid(parcelguard.FieldError{Field: "reason",
			Message: "must be not_at_home, wrong_password, refused or address_not_accessible"})
	}
	if err := pos.validate(); err != nil {
		return nil, err
	}
	var (
		out     *DoorstepParcel
		outcome error
	)
	err := s.update(ctx, func(tx parcelguard.Tx) (err error) {
		out, outcome = nil, nil
		x, d, err := loadDoorstep(ctx, tx, p, id)
		if err != nil {
			return err
		}
		if x.State != parcelguard.ParcelOutForDelivery {
			return fmt.Errorf("parcel is %s: %w", x.State, parcelguard.ErrIllegalTransition)
		}
		pol, err := doorstepPolicy(ctx, tx, x.CarrierID)
		if err != nil {
			return err
		}
		if dist := parcelguard.DistanceM(d.Lat, d.Lon, pos.Lat, pos.Lon); dist > pol.RadiusM {
			outcome = ErrCourierAway
			data := positionData(pos, dist, pol.RadiusM)
			data["action"], data["reason"] = "attempt", string(reason)
			return s.appendDoorstepEvent(ctx, tx, p, x.CarrierID, &parcelguard.Event{Kind: parcelguard.EventDoorstepPositionFar,
				ParcelID: x.ID, Data: data})
		}
		out = &DoorstepParcel{Parcel: x, Doorstep: d}
		return s.failAttemptAt(ctx, tx, p, x, d, pol, reason, &pos)
	})
	if err != nil {
		return nil, fmt.Errorf("failed attempt of %s: %w", id, err)
	}
	if outcome != nil {
		return nil, fmt.Errorf("failed attempt of %s: %w", id, outcome)
	}
	return out, nil
}

// failAttempt fails the current attempt without a courier position (the
// lockout after too many wrong passwords, the end of the delivery day).
func (s *Service) failAttempt(ctx context.Context, tx parcelguard.Tx, p parcelguard.Principal, x *parcelguard.Parcel,
	d *parcelguard.Doorstep, pol *parcelguard.DoorstepPolicy, reason parcelguard.AttemptReason) error {
	return s.failAttemptAt(ctx, tx, p, x, d, pol, reason, nil)
}

// failAttemptAt moves x to attempt_failed and on to its next step.
func (s *Service) failAttemptAt(ctx context.Context, tx parcelguard.Tx, p parcelguard.Principal, x *parcelguard.Parcel,
	d *parcelguard.Doorstep, pol *parcelguard.DoorstepPolicy, reason parcelguard.AttemptReason, pos *Position) error {
	now := s.clock.Now()
	if err := x.Transition(parcelguard.ParcelAttemptFailed, now); err != nil {
		return err
	}
	d.Attempts++
	d.LastReason, d.UpdatedAt = reason, now
	if err := tx.CancelTimers(ctx, x.ID, parcelguard.TimerDoorstepDayEnd); err != nil {
		return err
	}
	// The day's passwords, the recipient's and any delegate's, end here;
	// the next attempt brings new ones.
	if err := s.endPasswords(ctx, tx, x.ID, "", parcelguard.GrantExpired); err != nil {
		return err
	}
	data := map[string]string{"reason": string(reason), "attempt": strconv.Itoa(d.Attempts),
		"max_attempts": strconv.Itoa(pol.MaxAttempts), "date": d.Date.String()}
	if pos != nil {
		for k, v := range positionData(*pos, parcelguard.DistanceM(d.Lat, d.Lon, pos.Lat, pos.Lon), pol.RadiusM) {
			data[k] = v
		}
	}
	if err := s.appendDoorstepEvent(ctx, tx, p, x.CarrierID, &parcelguard.Event{Kind: parcelguard.EventDoorstepAttemptFailed, ParcelID: x.ID, Data: data}); err != nil {
		return err
	}
	if d.Attempts < pol.MaxAttempts {
		return s.reschedule(ctx, tx, p, x, d)
	}
	if pol.Fallback == parcelguard.FallbackLocker {
		err := s.redirectToLocker(ctx, tx, p, x, d, pol)
		if !errors.Is(err, parcelguard.ErrNoFreeCompartment) {
			return err
		}
		// No locker near enough has room: the parcel goes back instead.
	}
	return s.returnToSender(ctx, tx, p, x, d)
}

// reschedule moves x to the next working day of the recipient's country
// and sets the timer that sends it out again at the start of that day.
func (s *Service) reschedule(ctx context.Context, tx parcelguard.Tx, p parcelguard.Principal, x *parcelguard.Parcel, d *parcelguard.Doorstep) error {
	now := s.clock.Now()
	loc := d.Location()
	from := parcelguard.DeliveryDateOf(now, loc)
	if d.LastReason == parcelguard.ReasonNotDelivered {
		// The day ended unattempted: the next working day after it, but
		// not one already over if the timer fired late.
		if from = from.AddDays(-1); from.Before(d.Date) {
			from = d.Date
		}
	}
	next := parcelguard.NextWorkingDay(d.Country, from)
	start, err := next.StartIn(loc)
	if err != nil {
		return err
	}
	if err := x.Transition(parcelguard.ParcelRescheduled, now); err != nil {
		return err
	}
	lockout := d.Locked
	d.Date, d.Failures, d.Locked = next, 0, false
	if err := tx.SaveParcel(ctx, x); err != nil {
		return err
	}
	if err := tx.SaveDoorstep(ctx, d); err != nil {
		return err
	}
	if err := tx.ScheduleTimer(ctx, &parcelguard.Timer{ID: parcelguard.NewID("tmr", now), Kind: parcelguard.TimerDoorstepRedeliver,
		ParcelID: x.ID, DueAt: start}); err != nil {
		return err
	}
	if !lockout { // a lockout tells the recipient in its own message
		if err := s.notifyRecipient(ctx, tx, x, parcelguard.MessageAttemptFailed, x.ID+":"+strconv.Itoa(d.Attempts), "",
			map[string]string{"new_date": s.formatDate(x, d, next), "reason": string(d.LastReason)}); err != nil {
			return err
		}
	}
	if err := s.notifyCarrierOnce(ctx, tx, x, parcelguard.EventDoorstepRescheduled, strconv.Itoa(d.Attempts),
		map[string]string{"date": next.String(), "reason": string(d.LastReason)}); err != nil {
		return err
	}
	return s.appendDoorstepEvent(ctx, tx, p, x.CarrierID, &parcelguard.Event{Kind: parcelguard.EventDoorstepRescheduled, ParcelID: x.ID,
		Data: map[string]string{"date": next.String(), "attempt": strconv.Itoa(d.Attempts + 1)}})
}

// notifyCarrierOnce is notifyCarrier for an event that may happen more
// than once for a parcel: cause tells the occurrences apart.
func (s *Service) notifyCarrierOnce(ctx context.Context, tx parcelguard.Tx, x *parcelguard.Parcel, event parcelguard.EventKind,
	cause string, data map[string]string) error {
	now := s.clock.Now()
	d := map[string]string{"type": string(event), "at": now.Format(time.RFC3339Nano), "state": string(x.State)}
	for k, v := range data {
		d[k] = v
	}
	m := &parcelguard.Message{ID: parcelguard.NewID("msg", now), IdempotencyKey: "webhook:" + x.ID + ":" + string(event) + ":" + cause,
		Kind: parcelguard.MessageWebhook, Channel: parcelguard.ChannelWebhook, Recipient: x.CarrierID,
		ParcelID: x.ID, SiteID: x.SiteID, CarrierID: x.CarrierID, Data: d,
		State: parcelguard.MessagePending, DueAt: now, CreatedAt: now}
	if err := tx.EnqueueMessage(ctx, m); err != nil {
		return fmt.Errorf("enqueue %s webhook: %w", event, err)
	}
	return nil
}

// redirectToLocker reserves a fitting compartment at the locker nearest to
// the delivery address. The courier then deposits the parcel there, which
// issues the recipient's pickup grant and sends the pickup notice.
func (s *Service) redirectToLocker(ctx context.Context, tx parcelguard.Tx, p parcelguard.Principal, x *parcelguard.Parcel,
	d *parcelguard.Doorstep, pol *parcelguard.DoorstepPolicy) error {
	site, c, err := nearestFreeSite(ctx, tx, d.Lat, d.Lon, x.Size, pol.LockerSearchM, "")
	if err != nil {
		return err
	}
	now := s.clock.Now()
	if err := x.Transition(parcelguard.ParcelRedirectedToLocker, now); err != nil {
		return err
	}
	if err := c.Reserve(x.ID); err != nil {
		return err
	}
	x.SiteID, x.CompartmentID = site.Site.ID, c.ID
	if err := tx.SaveCompartment(ctx, c); err != nil {
		return err
	}
	if err := tx.SaveParcel(ctx, x); err != nil {
		return err
	}
	if err := tx.SaveDoorstep(ctx, d); err != nil {
		return err
	}
	if err := s.notifyRecipient(ctx, tx, x, parcelguard.MessageDoorstepRedirected, x.ID, "", nil); err != nil {
		return err
	}
	return s.recordForCarrier(ctx, tx, p, x, &parcelguard.Event{Kind: parcelguard.EventDoorstepRedirected, ParcelID: x.ID,
		SiteID: site.Site.ID, CompartmentID: c.ID, Stream: parcelguard.CarrierStream(x.CarrierID), // with the parcel's other doorstep events
		Data: map[string]string{"label": c.Label, "size": string(c.Size), "distance_m": strconv.FormatFloat(site.DistanceM, 'f', 0, 64)}},
		map[string]string{"site_id": site.Site.ID})
}

// returnToSender ends the doorstep delivery: the parcel goes back.
func (s *Service) returnToSender(ctx context.Context, tx parcelguard.Tx, p parcelguard.Principal, x *parcelguard.Parcel, d *parcelguard.Doorstep) error {
	if err := x.Transition(parcelguard.ParcelReturned, s.clock.Now()); err != nil {
		return err
	}
	if err := tx.SaveParcel(ctx, x); err != nil {
		return err
	}
	if err := tx.SaveDoorstep(ctx, d); err != nil {
		return err
	}
	if err := s.notifyRecipient(ctx, tx, x, parcelguard.MessageDoorstepReturned, x.ID, "", nil); err != nil {
		return err
	}
	return s.recordForCarrier(ctx, tx, p, x, &parcelguard.Event{Kind: parcelguard.EventDoorstepReturned, ParcelID: x.ID, Stream: parcelguard.CarrierStream(x.CarrierID),
		Data: map[string]string{"attempts": strconv.Itoa(d.Attempts)}}, nil)
}

// redeliver fires a rescheduled parcel's timer: it goes out again on its
// new date with a new password.
func (s *Service) redeliver(ctx context.Context, tx parcelguard.Tx, parcelID string) error {
	x, err := tx.Parcel(ctx, parcelID)
	if err != nil {
		return err
	}
	if x.State != parcelguard.ParcelRescheduled {
		return nil // sent out by a courier already, or cancelled
	}
	d, err := tx.Doorstep(ctx, parcelID)
	if err != nil {
		return err
	}
	return s.sendOut(ctx, tx, parcelguard.System, x, d, 0)
}
