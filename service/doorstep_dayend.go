package service

import (
	"context"

	"github.com/parcelguard/parcelguard"
)

// End of the delivery day: a parcel sent out for delivery carries a
// doorstep_day_end timer due when its delivery date ends in the
// recipient's zone (DeliveryDate.EndIn, exact across DST). If the parcel
// is still out for delivery when it fires, nobody delivered it and nobody
// recorded a failed attempt: the timer records one as not_delivered (the
// courier did not attempt it), which counts toward the carrier's attempt
// limit and reschedules to the next working day with a new password, or
// after the last attempt redirects or returns the parcel. So no parcel
// stays out for delivery for ever, and its passwords end with their day.

// scheduleDayEnd sets (or moves) the parcel's end-of-day timer to the end
// of d.Date.
func (s *Service) scheduleDayEnd(ctx context.Context, tx parcelguard.Tx, x *parcelguard.Parcel, d *parcelguard.Doorstep) error {
	end, err := d.Date.EndIn(d.Location())
	if err != nil {
		return err
	}
	return tx.ScheduleTimer(ctx, &parcelguard.Timer{ID: parcelguard.NewID("tmr", s.clock.Now()), Kind: parcelguard.TimerDoorstepDayEnd,
		ParcelID: x.ID, DueAt: end})
}

// endDeliveryDay fires a parcel's end-of-day timer.
func (s *Service) endDeliveryDay(ctx context.Context, tx parcelguard.Tx, parcelID string) error {
	x, err := tx.Parcel(ctx, parcelID)
	if err != nil {
		return err
	}
	if x.State != parcelguard.ParcelOutForDelivery {
		return nil // delivered, or the attempt was recorded in the meantime
	}
	d, err := tx.Doorstep(ctx, parcelID)
	if err != nil {
		return err
	}
	end, err := d.Date.EndIn(d.Location())
	if err != nil {
		return err
	}
	if s.clock.Now().Before(end) {
		// Out again on a later date than the timer was set for (a
		// stale timer): wait for the end of that date instead.
		return s.scheduleDayEnd(ctx, tx, x, d)
	}
	pol, err := doorstepPolicy(ctx, tx, x.CarrierID)
	if err != nil {
		return err
	}
	return s.failAttempt(ctx, tx, parcelguard.System, x, d, pol, parcelguard.ReasonNotDelivered)
}
