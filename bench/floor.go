package bench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/parcelguard/parcelguard"
)

// The floor: the store transactions of the service's deposit, pickup,
// expiry and doorstep handover (floor_doorstep.go), statement for
// statement (reads, state changes, grant, timers, outbox messages, the
// commands that keep the locker's grants in step, audit event), issued
// straight to the store. What the service adds on top — HTTP, JSON,
// authentication, rate limits, idempotency keys, keyed hashing and sealing
// of codes, the outbox dispatcher — is what the ratio service/floor
// measures. Codes here are random bytes of the sizes the service stores.

// sealedPINSize is the size of a sealed 6-digit PIN (nonce, PIN, tag).
const sealedPINSize = 12 + 6 + 16

// floorActor is the audit actor of the floor's events, shaped like a key's.
const floorActor = "courier:bench/pgk_floorbench00"

// floorDeposit is Service.Deposit's transaction for it.
func floorDeposit(ctx context.Context, tx parcelguard.Tx, it *item) error {
	now := time.Now()
	x, err := tx.Parcel(ctx, it.parcel)
	if err != nil {
		return err
	}
	if err := x.Transition(parcelguard.ParcelDeposited, now); err != nil {
		return err
	}
	c, err := tx.Compartment(ctx, x.CompartmentID)
	if err != nil {
		return err
	}
	if err := c.Occupy(x.ID); err != nil {
		return err
	}
	site, err := tx.Site(ctx, x.SiteID)
	if err != nil {
		return err
	}
	carrier, err := tx.Carrier(ctx, x.CarrierID)
	if err != nil {
		return err
	}
	x.Deadline = now.Add(parcelguard.StoragePeriod(site, carrier))
	g := &parcelguard.Grant{ID: parcelguard.NewID("grt", now), ParcelID: x.ID, SiteID: x.SiteID, CompartmentID: x.CompartmentID,
		Purpose: parcelguard.PurposePickup, State: parcelguard.GrantActive, KeyID: "k1", NotBefore: now, ExpiresAt: x.Deadline,
		CreatedAt: now, CodeHash: randomBytes(32), PhoneHash: randomBytes(32), CodeSealed: randomBytes(sealedPINSize)}
	taken, err := tx.ActiveGrantsByCode(ctx, x.SiteID, parcelguard.PurposePickup, [][]byte{g.CodeHash})
	if err != nil {
		return err
	}
	if len(taken) > 0 {
		return fmt.Errorf("random code hash already taken")
	}
	if err := tx.CreateGrant(ctx, g); err != nil {
		return err
	}
	if err := deviceCommand(ctx, tx, g, parcelguard.DeviceGrantNew, "grant.new:"+g.ID, nil, now); err != nil {
		return err
	}
	if err := tx.SaveCompartment(ctx, c); err != nil {
		return err
	}
	if err := tx.SaveParcel(ctx, x); err != nil {
		return err
	}
	expiry := &parcelguard.Timer{ID: parcelguard.NewID("tmr", now), Kind: parcelguard.TimerExpiry, ParcelID: x.ID, DueAt: x.Deadline}
	if err := tx.ScheduleTimer(ctx, expiry); err != nil {
		return err
	}
	if err := tx.ScheduleTimer(ctx, &parcelguard.Timer{ID: parcelguard.NewID("tmr", now), Kind: parcelguard.TimerReminder,
		ParcelID: x.ID, DueAt: x.Deadline.Add(-parcelguard.ReminderLead)}); err != nil {
		return err
	}
	if err := enqueue(ctx, tx, x, parcelguard.MessageDeposit, g.ID, g.ID, parcelguard.EventParcelDeposited, nil, now); err != nil {
		return err
	}
	if err := tx.AppendEvent(ctx, &parcelguard.Event{ID: parcelguard.NewID("evt", now), At: now, Actor: floorActor,
		Stream: parcelguard.SiteStream(x.SiteID), Kind: parcelguard.EventParcelDeposited, SiteID: x.SiteID, CompartmentID: c.ID,
		ParcelID: x.ID, GrantID: g.ID, Data: map[string]string{"label": c.Label, "deadline": x.Deadline.Format(time.RFC3339)}}); err != nil {
		return err
	}
	it.code, it.timer = g.CodeHash, expiry.ID
	return nil
}

// floorPickup is the transaction of Service.Pickup with the right code.
func floorPickup(ctx context.Context, tx parcelguard.Tx, it *item) error {
	now := time.Now()
	if _, err := tx.Site(ctx, it.site); err != nil {
		return err
	}
	guard, err := tx.LockerGuard(ctx, it.site)
	if err != nil {
		return err
	}
	if wait := guard.Blocked(now); wait > 0 {
		return fmt.Errorf("locker guard blocks for %v", wait)
	}
	grants, err := tx.ActiveGrantsByCode(ctx, it.site, parcelguard.PurposePickup, [][]byte{it.code})
	if err != nil {
		return err
	}
	if len(grants) != 1 {
		return fmt.Errorf("found %d grants by code, want 1", len(grants))
	}
	g := grants[0]
	if err := g.Use(now); err != nil {
		return err
	}
	x, err := tx.Parcel(ctx, g.ParcelID)
	if err != nil {
		return err
	}
	if err := x.Transition(parcelguard.ParcelPickedUp, now); err != nil {
		return err
	}
	c, err := savePickedUp(ctx, tx, g, x)
	if err != nil {
		return err
	}
	if err := deviceCommand(ctx, tx, g, parcelguard.DeviceGrantRevoke, "grant.revoke:"+g.ID, map[string]string{"reason": "used"}, now); err != nil {
		return err
	}
	if err := enqueue(ctx, tx, x, parcelguard.MessagePickedUp, g.ID, g.ID, parcelguard.EventParcelPickedUp,
		map[string]string{"at": now.Format(time.RFC3339Nano)}, now); err != nil {
		return err
	}
	return tx.AppendEvent(ctx, &parcelguard.Event{ID: parcelguard.NewID("evt", now), At: now, Actor: "kiosk:" + it.site,
		Stream: parcelguard.SiteStream(x.SiteID), Kind: parcelguard.EventParcelPickedUp, SiteID: x.SiteID, CompartmentID: c.ID,
		ParcelID: x.ID, GrantID: g.ID, Data: map[string]string{"label": c.Label, "by": "recipient"}})
}

// savePickedUp is what every pickup writes once its grant is used and the
// parcel picked up: it reads and releases the compartment, reads whether a
// delegate collected and the parcel's other pickup grants (a delegate's)
// to end, which the bench's parcels never have, saves the three, ends the
// parcel's timers and returns the compartment.
func savePickedUp(ctx context.Context, tx parcelguard.Tx, g *parcelguard.Grant, x *parcelguard.Parcel) (*parcelguard.Compartment, error) {
	c, err := tx.Compartment(ctx, g.CompartmentID)
	if err != nil {
		return nil, err
	}
	c.Release(x.ID)
	if _, err := tx.Delegate(ctx, g.ID); err == nil {
		return nil, fmt.Errorf("grant %s has a delegate; the floor's have none", g.ID)
	} else if !errors.Is(err, parcelguard.ErrNotFound) {
		return nil, err
	}
	if _, err := tx.GrantsOfParcel(ctx, x.ID); err != nil {
		return nil, err
	}
	if err := tx.SaveGrant(ctx, g); err != nil {
		return nil, err
	}
	if err := tx.SaveParcel(ctx, x); err != nil {
		return nil, err
	}
	if err := tx.SaveCompartment(ctx, c); err != nil {
		return nil, err
	}
	return c, tx.CancelTimers(ctx, x.ID)
}

// floorExpire is the scheduler's transaction firing it's expiry timer.
func floorExpire(ctx context.Context, tx parcelguard.Tx, it *item) error {
	now := time.Now()
	claimed, err := tx.ClaimTimer(ctx, it.timer)
	if err != nil {
		return err
	}
	if !claimed {
		return fmt.Errorf("expiry timer %s of %s already gone", it.timer, it.parcel)
	}
	x, err := tx.Parcel(ctx, it.parcel)
	if err != nil {
		return err
	}
	if err := x.Transition(parcelguard.ParcelExpired, now); err != nil {
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
		if err := deviceCommand(ctx, tx, g, parcelguard.DeviceGrantRevoke, "grant.revoke:"+g.ID, map[string]string{"reason": "expired"}, now); err != nil {
			return err
		}
	}
	if err := tx.SaveParcel(ctx, x); err != nil {
		return err
	}
	if err := tx.CancelTimers(ctx, x.ID, parcelguard.TimerReminder); err != nil {
		return err
	}
	if err := enqueue(ctx, tx, x, parcelguard.MessageExpiry, x.ID, "", parcelguard.EventParcelExpired, nil, now); err != nil {
		return err
	}
	return tx.AppendEvent(ctx, &parcelguard.Event{ID: parcelguard.NewID("evt", now), At: now, Actor: parcelguard.System.Actor(),
		Stream: parcelguard.SiteStream(x.SiteID), Kind: parcelguard.EventParcelExpired, SiteID: x.SiteID,
		CompartmentID: x.CompartmentID, ParcelID: x.ID})
}

// deviceCommand queues the command that brings g's locker in step, as the
// service does for a site with a locker agent (every bench site has one).
func deviceCommand(ctx context.Context, tx parcelguard.Tx, g *parcelguard.Grant, kind parcelguard.DeviceCommandKind, key string,
	data map[string]string, now time.Time) error {
	if _, err := tx.Locker(ctx, g.SiteID); err != nil {
		return fmt.Errorf("locker of %s: %w", g.SiteID, err)
	}
	_, err := tx.EnqueueDeviceCommand(ctx, &parcelguard.DeviceCommand{ID: parcelguard.NewID("cmd", now), IdempotencyKey: key,
		SiteID: g.SiteID, Kind: kind, GrantID: g.ID, Data: data, DueAt: now, CreatedAt: now})
	return err
}

// enqueue writes the outbox messages the service writes for a state
// change: one per recipient channel and the carrier's webhook.
func enqueue(ctx context.Context, tx parcelguard.Tx, x *parcelguard.Parcel, kind parcelguard.MessageKind, cause, grantID string,
	event parcelguard.EventKind, data map[string]string, now time.Time) error {
	for _, to := range []struct {
		ch   parcelguard.Channel
		addr string
	}{{parcelguard.ChannelEmail, x.Recipient.Email}, {parcelguard.ChannelSMS, x.Recipient.Phone}} {
		m := &parcelguard.Message{ID: parcelguard.NewID("msg", now), IdempotencyKey: string(kind) + ":" + cause + ":" + string(to.ch),
			Kind: kind, Channel: to.ch, Recipient: to.addr, Language: x.Recipient.Language, ParcelID: x.ID, GrantID: grantID,
			SiteID: x.SiteID, CarrierID: x.CarrierID, Data: data, State: parcelguard.MessagePending, DueAt: now, CreatedAt: now}
		if err := tx.EnqueueMessage(ctx, m); err != nil {
			return err
		}
	}
	d := map[string]string{"type": string(event), "at": now.Format(time.RFC3339Nano), "state": string(x.State),
		"deadline": x.Deadline.Format(time.RFC3339)}
	m := &parcelguard.Message{ID: parcelguard.NewID("msg", now), IdempotencyKey: "webhook:" + x.ID + ":" + string(event),
		Kind: parcelguard.MessageWebhook, Channel: parcelguard.ChannelWebhook, Recipient: x.CarrierID, ParcelID: x.ID,
		SiteID: x.SiteID, CarrierID: x.CarrierID, Data: d, State: parcelguard.MessagePending, DueAt: now, CreatedAt: now}
	return tx.EnqueueMessage(ctx, m)
}
