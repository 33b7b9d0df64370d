package bench

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/parcelguard/parcelguard"
)

// floorDoorstep is the transaction of Service.VerifyDoorstep with the
// recipient's password, told at the address: the parcel and its delivery,
// the carrier's policy, the passwords (the service hashes the one told
// against each usable one; the floor takes the recipient's), the used
// password, the others ended, the proof, the end-of-day timer cancelled,
// the audit event in the carrier's chain and the carrier's webhook.
func floorDoorstep(ctx context.Context, tx parcelguard.Tx, it *doorstepItem) error {
	now := time.Now()
	x, err := tx.Parcel(ctx, it.parcel)
	if err != nil {
		return err
	}
	d, err := tx.Doorstep(ctx, x.ID)
	if err != nil {
		return err
	}
	if x.State != parcelguard.ParcelOutForDelivery {
		return fmt.Errorf("parcel %s is %s: %w", x.ID, x.State, parcelguard.ErrIllegalTransition)
	}
	pol, err := tx.DoorstepPolicy(ctx, x.CarrierID)
	if errors.Is(err, parcelguard.ErrNotFound) {
		pol, err = parcelguard.DefaultDoorstepPolicy(x.CarrierID), nil
	}
	if err != nil {
		return err
	}
	dist := parcelguard.DistanceM(d.Lat, d.Lon, doorstepLat, doorstepLon)
	if dist > pol.RadiusM {
		return fmt.Errorf("doorstep %s is %.0f m from the courier", x.ID, dist)
	}
	pws, err := tx.DoorstepPasswords(ctx, x.ID)
	if err != nil {
		return err
	}
	var pw *parcelguard.DoorstepPassword
	for _, p := range pws {
		if p.Holder == parcelguard.HolderRecipient && p.Usable(now) == nil {
			pw = p
		}
	}
	if pw == nil {
		return fmt.Errorf("doorstep %s has no usable recipient password", x.ID)
	}
	if err := x.Transition(parcelguard.ParcelDelivered, now); err != nil {
		return err
	}
	if err := pw.Use(now); err != nil {
		return err
	}
	if err := tx.SaveDoorstepPassword(ctx, pw); err != nil {
		return err
	}
	// Every other password of the parcel ends with the handover: the
	// bench's parcels have none, but the service reads to find out.
	others, err := tx.DoorstepPasswords(ctx, x.ID)
	if err != nil {
		return err
	}
	for _, o := range others {
		if o.ID != pw.ID && (o.State == parcelguard.GrantActive || o.State == parcelguard.GrantLocked) {
			return fmt.Errorf("doorstep %s has password %s %s; the floor's have one", x.ID, o.ID, o.State)
		}
	}
	if err := tx.CreateDoorstepProof(ctx, &parcelguard.DoorstepProof{ParcelID: x.ID, Holder: pw.Holder, PasswordID: pw.ID,
		Courier: floorActor, Lat: doorstepLat, Lon: doorstepLon, DistanceM: dist, At: now}); err != nil {
		return err
	}
	d.UpdatedAt = now
	if err := tx.SaveDoorstep(ctx, d); err != nil {
		return err
	}
	if err := tx.SaveParcel(ctx, x); err != nil {
		return err
	}
	if err := tx.CancelTimers(ctx, x.ID); err != nil {
		return err
	}
	data := map[string]string{"lat": strconv.FormatFloat(doorstepLat, 'f', 6, 64), "lon": strconv.FormatFloat(doorstepLon, 'f', 6, 64),
		"distance_m": strconv.FormatFloat(dist, 'f', 0, 64), "verified_by": string(pw.Holder)}
	e := &parcelguard.Event{ID: parcelguard.NewID("evt", now), At: now, Actor: floorActor, Stream: parcelguard.CarrierStream(x.CarrierID),
		Kind: parcelguard.EventDoorstepDelivered, ParcelID: x.ID, GrantID: pw.ID, Data: data}
	if err := tx.AppendEvent(ctx, e); err != nil {
		return err
	}
	return tx.EnqueueMessage(ctx, &parcelguard.Message{ID: parcelguard.NewID("msg", now), IdempotencyKey: "webhook:" + e.ID,
		Kind: parcelguard.MessageWebhook, Channel: parcelguard.ChannelWebhook, Recipient: x.CarrierID, ParcelID: x.ID,
		CarrierID: x.CarrierID, State: parcelguard.MessagePending, DueAt: now, CreatedAt: now,
		Data: map[string]string{"type": string(parcelguard.EventDoorstepDelivered), "at": now.Format(time.RFC3339Nano),
			"state": string(x.State), "event_id": e.ID, "verified_by": string(pw.Holder)}})
}
