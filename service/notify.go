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

// notifyCarrier enqueues the webhook telling the parcel's carrier about
// the state change e records, with the parcel's state and deadline as of
// the change. e must be appended already: its audit id is the webhook's
// idempotency key ("webhook:<event id>"), so every occurrence of a kind
// (a second redirect, another deadline extension) reaches the carrier,
// while the same event never makes a second webhook.
func (s *Service) notifyCarrier(ctx context.Context, tx parcelguard.Tx, x *parcelguard.Parcel, e *parcelguard.Event,
	data map[string]string) error {
	if e.ID == "" {
		return fmt.Errorf("webhook of %s: the event has no id yet (append it first)", e.Kind)
	}
	now := s.clock.Now()
	d := map[string]string{"type": string(e.Kind), "at": now.Format(time.RFC3339Nano), "state": string(x.State),
		"event_id": e.ID}
	if !x.Deadline.IsZero() {
		d["deadline"] = x.Deadline.Format(time.RFC3339)
	}
	for k, v := range data {
		d[k] = v
	}
	m := &parcelguard.Message{ID: parcelguard.NewID("msg", now), IdempotencyKey: webhookKey(e.ID),
		Kind: parcelguard.MessageWebhook, Channel: parcelguard.ChannelWebhook, Recipient: x.CarrierID,
		ParcelID: x.ID, SiteID: x.SiteID, CarrierID: x.CarrierID, Data: d,
		State: parcelguard.MessagePending, DueAt: now, CreatedAt: now}
	if err := tx.EnqueueMessage(ctx, m); err != nil {
		return fmt.Errorf("enqueue %s webhook: %w", e.Kind, err)
	}
	return nil
}

// webhookKey is the idempotency key of the webhook about an audit event.
func webhookKey(eventID string) string { return "webhook:" + eventID }

// recordForCarrier appends e and enqueues the carrier's webhook about it.
func (s *Service) recordForCarrier(ctx context.Context, tx parcelguard.Tx, p parcelguard.Principal, x *parcelguard.Parcel,
	e *parcelguard.Event, data map[string]string) error {
	if err := s.appendEvent(ctx, tx, p, e); err != nil {
		return err
	}
	return s.notifyCarrier(ctx, tx, x, e, data)
}

// notifyDeposited: the deposit notice (PIN, QR, deadline) and the carrier's event.
// e is the appended deposit event.
func (s *Service) notifyDeposited(ctx context.Context, tx parcelguard.Tx, x *parcelguard.Parcel, g *parcelguard.Grant, e *parcelguard.Event) error {
	if err := s.notifyRecipient(ctx, tx, x, parcelguard.MessageDeposit, g.ID, g.ID, nil); err != nil {
		return err
	}
	return s.notifyCarrier(ctx, tx, x, e, nil)
}

// notifyPickedUp: the confirmation naming who collected, and the carrier's
// event. delegate is the delegate's name, empty when the recipient collected;
// e is the appended pickup event.
func (s *Service) notifyPickedUp(ctx context.Context, tx parcelguard.Tx, x *parcelguard.Parcel, g *parcelguard.Grant, delegate string,
	e *parcelguard.Event) error {
	at := s.clock.Now().Format(time.RFC3339Nano)
	data := map[string]string{"at": at}
	by := "recipient"
	if delegate != "" {
		data["delegate"], by = delegate, "delegate"
	}
	if err := s.notifyRecipient(ctx, tx, x, parcelguard.MessagePickedUp, g.ID, g.ID, data); err != nil {
		return err
	}
	return s.notifyCarrier(ctx, tx, x, e, map[string]string{"by": by})
}

// notifyReminder: the reminder before the deadline. The deadline is part of
// the cause, so a reminder for an extended deadline is a new message.
func (s *Service) notifyReminder(ctx context.Context, tx parcelguard.Tx, x *parcelguard.Parcel) error {
	return s.notifyRecipient(ctx, tx, x, parcelguard.MessageReminder, x.ID+":"+strconv.FormatInt(x.Deadline.Unix(), 10), "", nil)
}

// notifyExpired: the expiry and return notice, and the carrier's event; e
// is the appended expiry event.
func (s *Service) notifyExpired(ctx context.Context, tx parcelguard.Tx, x *parcelguard.Parcel, e *parcelguard.Event) error {
	if err := s.notifyRecipient(ctx, tx, x, parcelguard.MessageExpiry, x.ID, "", nil); err != nil {
		return err
	}
	return s.notifyCarrier(ctx, tx, x, e, nil)
}
