package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/code"
)

// Offline fallback (SECURITY.md 12): a courier without a connection may
// record a handover in the app with the password they were told, their
// position and the time. When the app reconnects it submits the record; it
// is stored as pending (with the password as a keyed hash only) and then
// verified here like an online handover. A record that does not verify
// raises an operator alarm and stays listed as a mismatch.

// OfflineInput is a handover a courier recorded offline.
type OfflineInput struct {
	Password   string
	Position   Position
	RecordedAt time.Time
}

// offlineScope binds an offline record's password hash to its parcel.
func offlineScope(parcelID string) string { return "doorstep-offline|" + parcelID }

// maxClockSkew is how far in the future an app's clock may put a record.
const maxClockSkew = 5 * time.Minute

// SubmitOffline stores an offline handover record as pending and then
// verifies it. It returns the record in its final state: verified (the
// parcel is delivered) or mismatch (an operator alarm was raised); a
// record whose check failed for an internal reason stays pending and can
// be verified again with VerifyOffline.
func (s *Service) SubmitOffline(ctx context.Context, p parcelguard.Principal, parcelID string, in OfflineInput) (*parcelguard.OfflineEntry, error) {
	if err := require(p, parcelguard.RoleCourier, parcelguard.RoleOperator); err != nil {
		return nil, err
	}
	var f []parcelguard.FieldError
	if !validPassword(in.Password) {
		f = append(f, parcelguard.FieldError{Field: "password", Message: "must be 6 digits"})
	}
	if err := in.Position.validate(); err != nil {
		var e *parcelguard.Error
		if errors.As(err, &e) {
			f = append(f, e.Fields...)
		}
	}
	if in.RecordedAt.IsZero() {
		f = append(f, parcelguard.FieldError{Field: "recorded_at", Message: "is required"})
	}
	if len(f) > 0 {
		return nil, parcelguard.Invalid(f...)
	}
	now := s.clock.Now()
	keyID := s.keys.CurrentID()
	h, err := s.keys.Hash(keyID, offlineScope(parcelID), in.Password)
	if err != nil {
		return nil, err
	}
	e := &parcelguard.OfflineEntry{ID: parcelguard.NewID("off", now), ParcelID: parcelID, Courier: p.Actor(),
		KeyID: keyID, CodeHash: h, Lat: in.Position.Lat, Lon: in.Position.Lon, RecordedAt: in.RecordedAt.UTC(),
		State: parcelguard.OfflinePending, CreatedAt: now}
	err = s.update(ctx, func(tx parcelguard.Tx) error {
		x, err := visibleParcel(ctx, tx, p, parcelID)
		if err != nil {
			return err
		}
		if x.Mode != parcelguard.HandoverDoorstep {
			return fmt.Errorf("locker parcel: %w", parcelguard.ErrIllegalTransition)
		}
		e.CarrierID = x.CarrierID
		if err := tx.CreateOfflineEntry(ctx, e); err != nil {
			return err
		}
		return s.appendDoorstepEvent(ctx, tx, p, x.CarrierID, &parcelguard.Event{Kind: parcelguard.EventDoorstepOfflineQueued, ParcelID: x.ID,
			Data: map[string]string{"entry": e.ID, "recorded_at": e.RecordedAt.Format(time.RFC3339)}})
	})
	if err != nil {
		return nil, fmt.Errorf("offline handover of %s: %w", parcelID, err)
	}
	out, err := s.VerifyOffline(ctx, parcelguard.System, e.ID)
	if err != nil {
		s.log.Warn("offline handover left pending", "entry", e.ID, "parcel", parcelID, "error", err)
		return e, nil
	}
	return out, nil
}

// VerifyOffline checks a pending offline record: the parcel must still be
// out for delivery, the password one of the parcel's that was valid at the
// recorded time, the time not in the future, and the position within the
// carrier's radius of the address. A record already checked is returned
// as it is.
func (s *Service) VerifyOffline(ctx context.Context, p parcelguard.Principal, id string) (*parcelguard.OfflineEntry, error) {
	if err := require(p, parcelguard.RoleOperator); err != nil {
		return nil, err
	}
	var e *parcelguard.OfflineEntry
	err := s.update(ctx, func(tx parcelguard.Tx) (err error) {
		if e, err = tx.OfflineEntry(ctx, id); err != nil {
			return err
		}
		if e.State != parcelguard.OfflinePending {
			return nil
		}
		x, err := tx.Parcel(ctx, e.ParcelID)
		if err != nil {
			return err
		}
		d, err := tx.Doorstep(ctx, e.ParcelID)
		if err != nil {
			return err
		}
		pol, err := doorstepPolicy(ctx, tx, x.CarrierID)
		if err != nil {
			return err
		}
		now := s.clock.Now()
		var problems []string
		if x.State != parcelguard.ParcelOutForDelivery {
			problems = append(problems, "state")
		}
		if e.RecordedAt.After(now.Add(maxClockSkew)) {
			problems = append(problems, "time")
		}
		dist := parcelguard.DistanceM(d.Lat, d.Lon, e.Lat, e.Lon)
		if dist > pol.RadiusM {
			problems = append(problems, "position")
		}
		var pw *parcelguard.DoorstepPassword
		if d.NeedsPassword() {
			if pw, err = s.matchOffline(ctx, tx, e); err != nil {
				return err
			}
			switch {
			case pw == nil:
				problems = append(problems, "password")
			case e.RecordedAt.Before(pw.NotBefore) || !e.RecordedAt.Before(pw.ExpiresAt):
				problems = append(problems, "time")
			}
		}
		e.VerifiedAt = now
		courier := parcelguard.Principal{Role: parcelguard.RoleSystem}
		if len(problems) == 0 {
			e.State = parcelguard.OfflineVerified
			if err := tx.SaveOfflineEntry(ctx, e); err != nil {
				return err
			}
			proof := &parcelguard.DoorstepProof{ParcelID: x.ID, Courier: e.Courier, Lat: e.Lat, Lon: e.Lon, DistanceM: dist,
				Offline: true, RecordedAt: e.RecordedAt}
			if pw != nil {
				proof.Holder, proof.DelegateName, proof.PasswordID = pw.Holder, pw.DelegateName, pw.ID
			}
			return s.deliver(ctx, tx, courier, x, d, proof, pw)
		}
		e.State, e.Problems = parcelguard.OfflineMismatch, problems
		if err := tx.SaveOfflineEntry(ctx, e); err != nil {
			return err
		}
		if pw == nil && d.NeedsPassword() && x.State == parcelguard.ParcelOutForDelivery && !d.Locked {
			// A wrong password offline is a guess like one online.
			if _, err := s.wrongPassword(ctx, tx, courier, x, d, pol); err != nil {
				return err
			}
		}
		return s.appendDoorstepEvent(ctx, tx, courier, x.CarrierID, &parcelguard.Event{Kind: parcelguard.EventAlarmOfflineMismatch, ParcelID: x.ID,
			Data: map[string]string{"entry": e.ID, "courier": e.Courier, "problems": strings.Join(problems, ","),
				"recorded_at": e.RecordedAt.Format(time.RFC3339)}})
	})
	if err != nil {
		return nil, fmt.Errorf("verify offline handover %s: %w", id, err)
	}
	return e, nil
}

// matchOffline returns the parcel's active password whose plaintext hashes
// to the record's hash, or nil. The plaintext comes from the password's
// sealed copy, so the record stays verifiable after the request that
// stored it, even across key rotation.
func (s *Service) matchOffline(ctx context.Context, tx parcelguard.Tx, e *parcelguard.OfflineEntry) (*parcelguard.DoorstepPassword, error) {
	pws, err := tx.DoorstepPasswords(ctx, e.ParcelID)
	if err != nil {
		return nil, err
	}
	var match *parcelguard.DoorstepPassword
	for _, pw := range pws {
		if pw.State != parcelguard.GrantActive {
			continue
		}
		plain, err := s.keys.Open(pw.KeyID, []byte(pw.ID), pw.CodeSealed)
		if err != nil {
			return nil, fmt.Errorf("open doorstep code %s: %w", pw.ID, err)
		}
		h, err := s.keys.Hash(e.KeyID, offlineScope(e.ParcelID), string(plain))
		if err != nil {
			return nil, err
		}
		if code.Equal(h, e.CodeHash) && match == nil {
			match = pw
		}
	}
	return match, nil
}

// OfflineEntries lists offline handover records for operators (all) and
// carriers (their own), optionally only those in one state, such as the
// mismatches waiting for an operator.
func (s *Service) OfflineEntries(ctx context.Context, p parcelguard.Principal, f parcelguard.OfflineFilter) ([]*parcelguard.OfflineEntry, error) {
	if err := require(p, parcelguard.RoleCarrier, parcelguard.RoleOperator); err != nil {
		return nil, err
	}
	if p.Role == parcelguard.RoleCarrier {
		f.CarrierID = p.CarrierID
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	var out []*parcelguard.OfflineEntry
	err := s.store.View(ctx, func(tx parcelguard.Tx) (err error) {
		out, err = tx.OfflineEntries(ctx, f)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list offline entries: %w", err)
	}
	return out, nil
}
