package service

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/parcelguard/parcelguard"
)

// DoorstepTracking is what a recipient sees of a doorstep delivery: the
// date, today's password (only the recipient's authenticated page and
// messages ever show it), the delegates, and the proof once delivered.
type DoorstepTracking struct {
	Doorstep *parcelguard.Doorstep
	// Password is the recipient's active delivery password, empty when
	// there is none (not out for delivery, disabled, or none needed).
	Password          string
	PasswordExpiresAt time.Time
	Delegates         []DelegateView
	Proof             *parcelguard.DoorstepProof
}

// DelegateView is one delegate password as its recipient sees it.
type DelegateView struct {
	ID        string
	Name      string
	State     parcelguard.GrantState
	Date      parcelguard.DeliveryDate
	ExpiresAt time.Time
	// Code is the delegate's password while it is active.
	Code string
}

// TrackDoorstep returns the recipient's view of the doorstep delivery of
// a link. Transports must not log or cache the answer: it holds codes.
func (s *Service) TrackDoorstep(ctx context.Context, a *RecipientAccess) (*DoorstepTracking, error) {
	if err := checkAccess(a); err != nil {
		return nil, err
	}
	out := &DoorstepTracking{}
	var pws []*parcelguard.DoorstepPassword
	err := s.store.View(ctx, func(tx parcelguard.Tx) (err error) {
		if out.Doorstep, err = tx.Doorstep(ctx, a.parcelID); err != nil {
			if errors.Is(err, parcelguard.ErrNotFound) {
				return parcelguard.Errorf(parcelguard.ECONFLICT, "the parcel is not delivered to the door")
			}
			return err
		}
		if pws, err = tx.DoorstepPasswords(ctx, a.parcelID); err != nil {
			return err
		}
		out.Proof, err = tx.DoorstepProof(ctx, a.parcelID)
		if errors.Is(err, parcelguard.ErrNotFound) {
			out.Proof, err = nil, nil
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("track doorstep %s: %w", a.parcelID, err)
	}
	now := s.clock.Now()
	for _, pw := range pws {
		plain := ""
		if pw.Usable(now) == nil || (pw.State == parcelguard.GrantActive && now.Before(pw.NotBefore)) {
			b, err := s.keys.Open(pw.KeyID, []byte(pw.ID), pw.CodeSealed)
			if err != nil {
				return nil, fmt.Errorf("open doorstep code %s: %w", pw.ID, err)
			}
			plain = string(b)
		}
		switch pw.Holder {
		case parcelguard.HolderRecipient:
			if plain != "" {
				out.Password, out.PasswordExpiresAt = plain, pw.ExpiresAt
			}
		case parcelguard.HolderDelegate:
			out.Delegates = append(out.Delegates, DelegateView{ID: pw.ID, Name: pw.DelegateName, State: pw.State,
				Date: pw.Date, ExpiresAt: pw.ExpiresAt, Code: plain})
		}
	}
	return out, nil
}

// DelegateInput names the person a recipient lets receive the parcel,
// with an optional phone number or e-mail address to send the password to.
type DelegateInput struct {
	Name  string
	Phone string
	Email string
}

var (
	delegatePhone = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	delegateEmail = regexp.MustCompile(`^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$`)
)

// validate reports every invalid field.
func (in *DelegateInput) validate() error {
	var f []parcelguard.FieldError
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || len(in.Name) > 200 {
		f = append(f, parcelguard.FieldError{Field: "name", Message: "must be 1 to 200 characters"})
	}
	if in.Phone != "" && !delegatePhone.MatchString(in.Phone) {
		f = append(f, parcelguard.FieldError{Field: "phone", Message: "must be an E.164 number such as +48600100200"})
	}
	if in.Email != "" && (len(in.Email) > 254 || !delegateEmail.MatchString(in.Email)) {
		f = append(f, parcelguard.FieldError{Field: "email", Message: "must be an e-mail address"})
	}
	if len(f) > 0 {
		return parcelguard.Invalid(f...)
	}
	return nil
}

// CreateDoorstepDelegate issues a separate delivery password for a named person,
// valid for the parcel's (next) delivery date, and revokes any earlier
// delegate password: one delegate at a time. The proof of delivery names
// whoever's password verified. The code is returned for the recipient's
// page and, if a phone or e-mail is given, sent to the delegate.
func (s *Service) CreateDoorstepDelegate(ctx context.Context, a *RecipientAccess, in DelegateInput) (*DelegateView, error) {
	if err := checkAccess(a); err != nil {
		return nil, err
	}
	if err := in.validate(); err != nil {
		return nil, err
	}
	var out *DelegateView
	err := s.update(ctx, func(tx parcelguard.Tx) error {
		x, err := tx.Parcel(ctx, a.parcelID)
		if err != nil {
			return err
		}
		d, err := tx.Doorstep(ctx, a.parcelID)
		if errors.Is(err, parcelguard.ErrNotFound) {
			return parcelguard.Errorf(parcelguard.ECONFLICT, "the parcel is not delivered to the door")
		}
		if err != nil {
			return err
		}
		switch {
		case !d.NeedsPassword():
			return parcelguard.Errorf(parcelguard.ECONFLICT, "this delivery needs no password")
		case x.State != parcelguard.ParcelOutForDelivery && x.State != parcelguard.ParcelRescheduled:
			return parcelguard.Errorf(parcelguard.ECONFLICT, "a delegate can be named once the parcel is out for delivery or rescheduled")
		case d.Locked:
			return parcelguard.ErrCodeLocked
		}
		if err := s.endPasswords(ctx, tx, x.ID, parcelguard.HolderDelegate, parcelguard.GrantRevoked); err != nil {
			return err
		}
		pw, plain, err := s.issuePassword(ctx, tx, x, d, parcelguard.HolderDelegate, in.Name)
		if err != nil {
			return err
		}
		if x.State == parcelguard.ParcelRescheduled {
			// Valid on the new date only.
			if pw.NotBefore, err = d.Date.StartIn(d.Location()); err != nil {
				return err
			}
			if err := tx.SaveDoorstepPassword(ctx, pw); err != nil {
				return err
			}
		}
		out = &DelegateView{ID: pw.ID, Name: pw.DelegateName, State: pw.State, Date: pw.Date, ExpiresAt: pw.ExpiresAt, Code: plain}
		if err := s.notifyDoorstepDelegate(ctx, tx, x, d, pw, in); err != nil {
			return err
		}
		return s.appendDoorstepEvent(ctx, tx, a.principal(), x.CarrierID, &parcelguard.Event{Kind: parcelguard.EventDoorstepDelegated,
			ParcelID: x.ID, GrantID: pw.ID, Data: map[string]string{"delegate": pw.DelegateName, "date": pw.Date.String()}})
	})
	if err != nil {
		return nil, fmt.Errorf("delegate for %s: %w", a.parcelID, err)
	}
	return out, nil
}

// notifyDoorstepDelegate sends the delegate their password where the recipient
// gave an address for them.
func (s *Service) notifyDoorstepDelegate(ctx context.Context, tx parcelguard.Tx, x *parcelguard.Parcel, d *parcelguard.Doorstep,
	pw *parcelguard.DoorstepPassword, in DelegateInput) error {
	now := s.clock.Now()
	for _, to := range []struct {
		ch   parcelguard.Channel
		addr string
	}{{parcelguard.ChannelEmail, in.Email}, {parcelguard.ChannelSMS, in.Phone}} {
		if to.addr == "" {
			continue
		}
		m := &parcelguard.Message{ID: parcelguard.NewID("msg", now),
			IdempotencyKey: string(parcelguard.MessageDoorstepDelegate) + ":" + pw.ID + ":" + string(to.ch),
			Kind:           parcelguard.MessageDoorstepDelegate, Channel: to.ch, Recipient: to.addr, Language: x.Recipient.Language,
			ParcelID: x.ID, GrantID: pw.ID, CarrierID: x.CarrierID,
			Data:  map[string]string{"delegate": pw.DelegateName, "on_behalf_of": x.Recipient.Name, "date": s.formatDate(x, d, pw.Date)},
			State: parcelguard.MessagePending, DueAt: now, CreatedAt: now}
		if err := tx.EnqueueMessage(ctx, m); err != nil {
			return fmt.Errorf("enqueue delegate %s message: %w", to.ch, err)
		}
	}
	return nil
}

// RevokeDoorstepDelegate withdraws a delegate password of the link's parcel.
func (s *Service) RevokeDoorstepDelegate(ctx context.Context, a *RecipientAccess, passwordID string) (*DelegateView, error) {
	if err := checkAccess(a); err != nil {
		return nil, err
	}
	var out *DelegateView
	err := s.update(ctx, func(tx parcelguard.Tx) error {
		pw, err := tx.DoorstepPassword(ctx, passwordID)
		if err != nil {
			return err
		}
		if pw.ParcelID != a.parcelID || pw.Holder != parcelguard.HolderDelegate {
			return parcelguard.ErrNotFound
		}
		if pw.State != parcelguard.GrantActive && pw.State != parcelguard.GrantLocked {
			return parcelguard.Errorf(parcelguard.ECONFLICT, "the delegate password is already %s", pw.State)
		}
		x, err := tx.Parcel(ctx, pw.ParcelID)
		if err != nil {
			return err
		}
		pw.End(parcelguard.GrantRevoked)
		if err := tx.SaveDoorstepPassword(ctx, pw); err != nil {
			return err
		}
		out = &DelegateView{ID: pw.ID, Name: pw.DelegateName, State: pw.State, Date: pw.Date, ExpiresAt: pw.ExpiresAt}
		return s.appendDoorstepEvent(ctx, tx, a.principal(), x.CarrierID, &parcelguard.Event{Kind: parcelguard.EventDoorstepDelegateRevoke,
			ParcelID: pw.ParcelID, GrantID: pw.ID, Data: map[string]string{"delegate": pw.DelegateName}})
	})
	if err != nil {
		return nil, fmt.Errorf("revoke delegate %s: %w", passwordID, err)
	}
	return out, nil
}
