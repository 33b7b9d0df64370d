package agent

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/devicemsg"
)

// depositScope is the hash scope of courier deposit codes, as the cloud
// makes them (service package): a deposit code never matches a pickup PIN.
func depositScope(siteID string) string { return "deposit|" + siteID }

// Deposit opens the reserved compartment of a courier's deposit grant, by
// its one-time deposit code, without the network. Wrong codes count against
// the locker's guard like wrong PINs. The grant is used and the deposit
// event queued in one local transaction before the lock opens; the cloud
// deposits the parcel when the event reaches it and only then issues the
// recipient's pickup grant.
func (a *Agent) Deposit(ctx context.Context, depositCode string) (*PickupResult, error) {
	if !isDigits(depositCode, 6) {
		return nil, parcelguard.Invalid(parcelguard.FieldError{Field: "code", Message: "must be 6 digits"})
	}
	var (
		g       *parcelguard.Grant
		outcome error
		alarm   *devicemsg.Event
	)
	err := a.store.tx(ctx, func(tx *sql.Tx) error {
		g, outcome, alarm = nil, nil, nil
		now := a.clock.Now()
		guard, cand, blocked, err := a.matchCode(ctx, tx, parcelguard.PurposeDeposit, depositScope(a.site), depositCode, now)
		if err != nil || blocked != nil {
			outcome = blocked
			return err
		}
		if cand != nil {
			if err := cand.Use(now); err != nil {
				outcome = refusal(err)
				return nil
			}
			if err := putGrant(ctx, tx, cand); err != nil {
				return err
			}
			g = cand
			ev := a.newEvent(devicemsg.EventDeposit, g.CompartmentID, g.ID)
			ev.Data["method"] = "code"
			return enqueue(ctx, tx, ev)
		}
		if alarm, err = a.failGuard(ctx, tx, guard, now); err != nil {
			return err
		}
		outcome = parcelguard.ErrCodeRejected
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("deposit at %s: %w", a.site, err)
	}
	if alarm != nil {
		a.log.Warn("kiosk alarm", "kind", alarm.Kind)
		if err := a.record(ctx, alarm); err != nil {
			a.log.Error("alarm not recorded", "kind", alarm.Kind, "err", err)
		}
	}
	if outcome != nil {
		return nil, outcome
	}
	return a.open(ctx, g)
}
