package bench

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/devicemsg"
)

// floorLockerPickup is the transaction of Service.ApplyDeviceEvent for a
// locker's report of a pickup it opened: the event recorded as applied
// (exactly once), the locker seen, the compartment and the grant checked
// against the locker, the grant used at the locker's time, the parcel
// picked up and its compartment freed, the parcel's other grants and its
// timers ended, the audit event and the recipient's and carrier's notices.
// The locker used the grant itself, so no command goes back to it.
func floorLockerPickup(ctx context.Context, tx parcelguard.Tx, it *item, ev devicemsg.Event) error {
	now := time.Now()
	fresh, err := tx.MarkDeviceEventApplied(ctx, &parcelguard.AppliedDeviceEvent{ID: ev.ID, SiteID: ev.LockerID,
		Seq: int64(ev.Seq), Kind: string(ev.Kind), At: ev.At, AppliedAt: now})
	if err != nil {
		return err
	}
	if !fresh {
		return fmt.Errorf("device event %s applied twice", ev.ID)
	}
	if err := tx.TouchLocker(ctx, ev.LockerID, ev.At); err != nil {
		return err
	}
	if c, err := tx.Compartment(ctx, ev.Compartment); err != nil {
		return err
	} else if c.SiteID != ev.LockerID {
		return fmt.Errorf("compartment %s is not at locker %s", c.ID, ev.LockerID)
	}
	g, err := tx.Grant(ctx, it.grant)
	if err != nil {
		return err
	}
	if g.SiteID != ev.LockerID || g.Purpose != parcelguard.PurposePickup || g.CompartmentID != ev.Compartment {
		return fmt.Errorf("grant %s is not this locker's pickup grant", g.ID)
	}
	x, err := tx.Parcel(ctx, g.ParcelID)
	if err != nil {
		return err
	}
	if g.State != parcelguard.GrantActive {
		return fmt.Errorf("grant %s is %s", g.ID, g.State)
	}
	if err := x.Transition(parcelguard.ParcelPickedUp, now); err != nil {
		return err
	}
	g.State, g.UsedAt = parcelguard.GrantUsed, ev.At
	c, err := savePickedUp(ctx, tx, g, x)
	if err != nil {
		return err
	}
	if err := tx.AppendEvent(ctx, &parcelguard.Event{ID: parcelguard.NewID("evt", now), At: now, Actor: "kiosk:" + ev.LockerID,
		Stream: parcelguard.SiteStream(x.SiteID), Kind: parcelguard.EventParcelPickedUp, SiteID: x.SiteID, CompartmentID: c.ID,
		ParcelID: x.ID, GrantID: g.ID, Data: map[string]string{"label": c.Label, "by": "recipient", "via": "locker", "method": "pin",
			"device_event": ev.ID, "device_seq": strconv.FormatUint(ev.Seq, 10), "device_at": ev.At.UTC().Format(time.RFC3339Nano)}}); err != nil {
		return err
	}
	return enqueue(ctx, tx, x, parcelguard.MessagePickedUp, g.ID, g.ID, parcelguard.EventParcelPickedUp,
		map[string]string{"at": now.Format(time.RFC3339Nano)}, now)
}
