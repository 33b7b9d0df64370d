package service

import (
	"context"
	"errors"
	"fmt"

	"github.com/parcelguard/parcelguard"
)

// MaxDelegates bounds how many delegate codes a recipient may create for
// one parcel, revoked ones included, so a leaked link cannot mint codes
// without end.
const MaxDelegates = 3

// CreateDelegate lets the recipient of a link allow a named person to
// collect their parcel (SECURITY.md 14). The delegate gets a pickup grant
// of their own, with its own PIN (stored only as a keyed hash and sealed
// for the delegate's message), valid until the storage deadline; the code
// is sent to the delegate's phone or e-mail, never shown to the caller.
// Delegate codes ask for no phone digits: the recipient's would be no
// secret from the recipient and unknown to the delegate; the locker's
// guessing limits protect them like every PIN.
func (s *Service) CreateDelegate(ctx context.Context, a *RecipientAccess, in parcelguard.Delegate) (*parcelguard.Delegate, *parcelguard.Grant, error) {
	if err := checkAccess(a); err != nil {
		return nil, nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, nil, err
	}
	var (
		d *parcelguard.Delegate
		g *parcelguard.Grant
	)
	err := s.update(ctx, func(tx parcelguard.Tx) error {
		x, err := tx.Parcel(ctx, a.parcelID)
		if err != nil {
			return err
		}
		if x.State != parcelguard.ParcelDeposited || !s.clock.Now().Before(x.Deadline) {
			return parcelguard.Errorf(parcelguard.ECONFLICT, "only a parcel waiting in its locker can have a delegate")
		}
		existing, err := tx.DelegatesOfParcel(ctx, x.ID)
		if err != nil {
			return err
		}
		if len(existing) >= MaxDelegates {
			return parcelguard.Errorf(parcelguard.ECONFLICT, "a parcel can have at most %d delegate codes", MaxDelegates)
		}
		carrier, err := tx.Carrier(ctx, x.CarrierID)
		if err != nil {
			return err
		}
		noPhone := *carrier
		noPhone.PhoneFactor = false
		if g, err = s.issuePickupGrant(ctx, tx, x, &noPhone); err != nil {
			return err
		}
		d = &parcelguard.Delegate{GrantID: g.ID, ParcelID: x.ID, Name: in.Name, Email: in.Email, Phone: in.Phone,
			CreatedAt: s.clock.Now()}
		if err := tx.CreateDelegate(ctx, d); err != nil {
			return err
		}
		if err := s.notifyDelegate(ctx, tx, x, d); err != nil {
			return err
		}
		return s.appendEvent(ctx, tx, a.principal(), &parcelguard.Event{Kind: parcelguard.EventDelegateCreated, SiteID: x.SiteID,
			ParcelID: x.ID, GrantID: g.ID, Data: map[string]string{"delegate": d.Name}})
	})
	if err != nil {
		return nil, nil, fmt.Errorf("create delegate for %s: %w", a.parcelID, err)
	}
	return d, g, nil
}

// notifyDelegate sends the delegate their code, on each channel they gave.
func (s *Service) notifyDelegate(ctx context.Context, tx parcelguard.Tx, x *parcelguard.Parcel, d *parcelguard.Delegate) error {
	now := s.clock.Now()
	for _, to := range []struct {
		ch   parcelguard.Channel
		addr string
	}{{parcelguard.ChannelEmail, d.Email}, {parcelguard.ChannelSMS, d.Phone}} {
		if to.addr == "" {
			continue
		}
		m := &parcelguard.Message{ID: parcelguard.NewID("msg", now),
			IdempotencyKey: string(parcelguard.MessageDelegateCode) + ":" + d.GrantID + ":" + string(to.ch),
			Kind:           parcelguard.MessageDelegateCode, Channel: to.ch, Recipient: to.addr, Language: x.Recipient.Language,
			ParcelID: x.ID, GrantID: d.GrantID, SiteID: x.SiteID, CarrierID: x.CarrierID,
			Data:  map[string]string{"delegate": d.Name, "on_behalf_of": x.Recipient.Name},
			State: parcelguard.MessagePending, DueAt: now, CreatedAt: now}
		if err := tx.EnqueueMessage(ctx, m); err != nil {
			return fmt.Errorf("enqueue delegate %s message: %w", to.ch, err)
		}
	}
	return nil
}

// DelegateState is a delegate and the state of their grant.
type DelegateState struct {
	Delegate *parcelguard.Delegate
	Grant    *parcelguard.Grant
}

// Delegates lists the delegates of the parcel of a link.
func (s *Service) Delegates(ctx context.Context, a *RecipientAccess) ([]DelegateState, error) {
	if err := checkAccess(a); err != nil {
		return nil, err
	}
	var out []DelegateState
	err := s.store.View(ctx, func(tx parcelguard.Tx) error {
		ds, err := tx.DelegatesOfParcel(ctx, a.parcelID)
		if err != nil {
			return err
		}
		for _, d := range ds {
			g, err := tx.Grant(ctx, d.GrantID)
			if err != nil {
				return err
			}
			out = append(out, DelegateState{Delegate: d, Grant: g})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("delegates of %s: %w", a.parcelID, err)
	}
	return out, nil
}

// RevokeDelegate ends a delegate's code at once. An id that is not a
// delegate of the link's parcel is ErrNotFound.
func (s *Service) RevokeDelegate(ctx context.Context, a *RecipientAccess, grantID string) (*DelegateState, error) {
	if err := checkAccess(a); err != nil {
		return nil, err
	}
	var out DelegateState
	err := s.update(ctx, func(tx parcelguard.Tx) error {
		d, err := tx.Delegate(ctx, grantID)
		if err != nil {
			return err
		}
		if d.ParcelID != a.parcelID {
			return parcelguard.ErrNotFound
		}
		g, err := tx.Grant(ctx, grantID)
		if err != nil {
			return err
		}
		out = DelegateState{Delegate: d, Grant: g}
		if g.State != parcelguard.GrantActive && g.State != parcelguard.GrantLocked {
			return nil // already used, expired or revoked: nothing to end
		}
		g.End(parcelguard.GrantRevoked)
		if err := tx.SaveGrant(ctx, g); err != nil {
			return err
		}
		if err := s.deviceGrantEnded(ctx, tx, g, "revoked"); err != nil {
			return err
		}
		return s.appendEvent(ctx, tx, a.principal(), &parcelguard.Event{Kind: parcelguard.EventDelegateRevoked, SiteID: g.SiteID,
			ParcelID: d.ParcelID, GrantID: g.ID, Data: map[string]string{"delegate": d.Name}})
	})
	if err != nil {
		return nil, fmt.Errorf("revoke delegate %s: %w", grantID, err)
	}
	return &out, nil
}

// GrantCode returns the plaintext code of an active grant, for the
// message renderer (notify.GrantCodeSource) of delegate codes. Transports
// must never expose or log it.
func (s *Service) GrantCode(ctx context.Context, grantID string) (string, *parcelguard.Grant, error) {
	var g *parcelguard.Grant
	err := s.store.View(ctx, func(tx parcelguard.Tx) (err error) {
		g, err = tx.Grant(ctx, grantID)
		return err
	})
	if err != nil {
		return "", nil, fmt.Errorf("code of grant %s: %w", grantID, err)
	}
	if g.State != parcelguard.GrantActive || len(g.CodeSealed) == 0 {
		return "", nil, fmt.Errorf("code of grant %s (%s): %w", grantID, g.State, parcelguard.ErrNotFound)
	}
	plain, err := s.keys.Open(g.KeyID, []byte(g.ID), g.CodeSealed)
	if err != nil {
		return "", nil, fmt.Errorf("open sealed code of grant %s: %w", g.ID, err)
	}
	return string(plain), g, nil
}

// delegateOf returns the name of the delegate holding grant g, or "" for
// the recipient's own grant.
func delegateOf(ctx context.Context, tx parcelguard.Tx, g *parcelguard.Grant) (string, error) {
	d, err := tx.Delegate(ctx, g.ID)
	if errors.Is(err, parcelguard.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return d.Name, nil
}

// endOtherPickupGrants ends the parcel's other pickup grants (the
// recipient's or delegates') once one of them opened the door.
// The locker drops them too.
func (s *Service) endOtherPickupGrants(ctx context.Context, tx parcelguard.Tx, parcelID, usedID string) error {
	grants, err := tx.GrantsOfParcel(ctx, parcelID)
	if err != nil {
		return err
	}
	for _, g := range grants {
		if g.ID == usedID || g.Purpose != parcelguard.PurposePickup || (g.State != parcelguard.GrantActive && g.State != parcelguard.GrantLocked) {
			continue
		}
		g.End(parcelguard.GrantRevoked)
		if err := tx.SaveGrant(ctx, g); err != nil {
			return err
		}
		if err := s.deviceGrantEnded(ctx, tx, g, "superseded"); err != nil {
			return err
		}
	}
	return nil
}
