package service

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/parcelguard/parcelguard"
)

// Notifications go through the transactional outbox: each use case
// enqueues its messages inside the transaction of the state change, so a
// message exists if and only if the change committed. Messages hold no
// secret; the dispatcher (package notify) renders them at send time and
// fetches the PIN through PickupCode then. Each message's idempotency key
// names its cause, so a re-run transaction or a repeated cause never makes
// a second message.

// notifyRecipient enqueues a message of kind to the parcel's recipient on
// every channel they gave: e-mail if they have an address, SMS to their
// phone. cause distinguishes one occasion from another in the idempotency
// key ("<kind>:<cause>:<channel>"), such as the grant the message is about.
func (s *Service) notifyRecipient(ctx context.Context, tx parcelguard.Tx, x *parcelguard.Parcel, kind parcelguard.MessageKind,
	cause, grantID string, data map[string]string) error {
	now := s.clock.Now()
	for _, to := range []struct {
		ch   parcelguard.Channel
		addr string
	}{{parcelguard.ChannelEmail, x.Recipient.Email}, {parcelguard.ChannelSMS, x.Recipient.Phone}} {
		if to.addr == "" {
			continue
		}
		m := &parcelguard.Message{ID: parcelguard.NewID("msg", now),
			IdempotencyKey: string(kind) + ":" + cause + ":" + string(to.ch),
			Kind:           kind, Channel: to.ch, Recipient: to.addr, Language: x.Recipient.Language,
			ParcelID: x.ID, GrantID: grantID, SiteID: x.SiteID, CarrierID: x.CarrierID, Data: data,
			State: parcelguard.MessagePending, DueAt: now, CreatedAt: now}
		if err := tx.EnqueueMessage(ctx, m); err != nil {
			return fmt.Errorf("enqueue %s %s message: %w", kind, to.ch, err)
		}
	}
	return nil
}

// notifyCarrier enqueues the webhook telling the parcel's carrier about a
// state change, with the parcel's state and deadline as of the change.
func (s *Service) notifyCarrier(ctx context.Context, tx parcelguard.Tx, x *parcelguard.Parcel, event parcelguard.EventKind,
	data map[string]string) error {
	now := s.clock.Now()
	d := map[string]string{"type": string(event), "at": now.Format(time.RFC3339Nano), "state": string(x.State)}
	if !x.Deadline.IsZero() {
		d["deadline"] = x.Deadline.Format(time.RFC3339)
	}
	for k, v := range data {
		d[k] = v
	}
	m := &parcelguard.Message{ID: parcelguard.NewID("msg", now), IdempotencyKey: "webhook:" + x.ID + ":" + string(event),
		Kind: parcelguard.MessageWebhook, Channel: parcelguard.ChannelWebhook, Recipient: x.CarrierID,
		ParcelID: x.ID, SiteID: x.SiteID, CarrierID: x.CarrierID, Data: d,
		State: parcelguard.MessagePending, DueAt: now, CreatedAt: now}
	if err := tx.EnqueueMessage(ctx, m); err != nil {
		return fmt.Errorf("enqueue %s webhook: %w", event, err)
	}
	return nil
}

// notifyDeposited: the deposit notice (PIN, QR, deadline) and the carrier's event.
func (s *Service) notifyDeposited(ctx context.Context, tx parcelguard.Tx, x *parcelguard.Parcel, g *parcelguard.Grant) error {
	if err := s.notifyRecipient(ctx, tx, x, parcelguard.MessageDeposit, g.ID, g.ID, nil); err != nil {
		return err
	}
	return s.notifyCarrier(ctx, tx, x, parcelguard.EventParcelDeposited, nil)
}

// notifyPickedUp: the confirmation naming who collected, and the carrier's
// event. delegate is the delegate's name, empty when the recipient collected.
func (s *Service) notifyPickedUp(ctx context.Context, tx parcelguard.Tx, x *parcelguard.Parcel, g *parcelguard.Grant, delegate string) error {
	at := s.clock.Now().Format(time.RFC3339Nano)
	data := map[string]string{"at": at}
	by := "recipient"
	if delegate != "" {
		data["delegate"], by = delegate, "delegate"
	}
	if err := s.notifyRecipient(ctx, tx, x, parcelguard.MessagePickedUp, g.ID, g.ID, data); err != nil {
		return err
	}
	return s.notifyCarrier(ctx, tx, x, parcelguard.EventParcelPickedUp, map[string]string{"by": by})
}

// notifyReminder: the reminder before the deadline. The deadline is part of
// the cause, so a reminder for an extended deadline is a new message.
func (s *Service) notifyReminder(ctx context.Context, tx parcelguard.Tx, x *parcelguard.Parcel) error {
	return s.notifyRecipient(ctx, tx, x, parcelguard.MessageReminder, x.ID+":"+strconv.FormatInt(x.Deadline.Unix(), 10), "", nil)
}

// notifyExpired: the expiry and return notice, and the carrier's event.
func (s *Service) notifyExpired(ctx context.Context, tx parcelguard.Tx, x *parcelguard.Parcel) error {
	if err := s.notifyRecipient(ctx, tx, x, parcelguard.MessageExpiry, x.ID, "", nil); err != nil {
		return err
	}
	return s.notifyCarrier(ctx, tx, x, parcelguard.EventParcelExpired, nil)
}
