package service

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/code"
)

// Position is where a courier says they are (WGS 84 degrees).
type Position struct {
	Lat, Lon float64
}

// validate reports an out-of-range position.
func (p Position) validate() error {
	var f []parcelguard.FieldError
	if p.Lat < -90 || p.Lat > 90 {
		f = append(f, parcelguard.FieldError{Field: "lat", Message: "must be between -90 and 90"})
	}
	if p.Lon < -180 || p.Lon > 180 {
		f = append(f, parcelguard.FieldError{Field: "lon", Message: "must be between -180 and 180"})
	}
	if len(f) > 0 {
		return parcelguard.Invalid(f...)
	}
	return nil
}

// ErrCourierAway refuses a verification made away from the address.
var ErrCourierAway = &parcelguard.Error{Code: parcelguard.EFORBIDDEN, Message: "the courier is not at the delivery address"}

// VerifyDoorstep completes a doorstep delivery: the courier, at pos, gives
// the password the recipient (or their delegate) told them. A parcel whose
// policy needs no password is delivered with an empty one. A wrong
// password counts against the day's limit; at MaxDoorstepPasswordFailures
// every password of the day is disabled, the attempt fails as
// wrong_password and the recipient is told (with the new date). Every
// outcome is an audit event in the same transaction.
func (s *Service) VerifyDoorstep(ctx context.Context, p parcelguard.Principal, id, password string, pos Position) (*parcelguard.DoorstepProof, error) {
	if err := require(p, parcelguard.RoleCourier, parcelguard.RoleOperator); err != nil {
		return nil, err
	}
	if err := pos.validate(); err != nil {
		return nil, err
	}
	if password != "" && !validPassword(password) {
		// Malformed input is not a guess; it costs nothing and says so.
		return nil, parcelguard.Invalid(parcelguard.FieldError{Field: "password", Message: "must be 6 digits"})
	}
	var (
		proof   *parcelguard.DoorstepProof
		outcome error
	)
	err := s.update(ctx, func(tx parcelguard.Tx) error {
		proof, outcome = nil, nil
		x, d, err := loadDoorstep(ctx, tx, p, id)
		if err != nil {
			return err
		}
		if x.State != parcelguard.ParcelOutForDelivery {
			return fmt.Errorf("parcel is %s: %w", x.State, parcelguard.ErrIllegalTransition)
		}
		pol, err := doorstepPolicy(ctx, tx, x.CarrierID)
		if err != nil {
			return err
		}
		dist := parcelguard.DistanceM(d.Lat, d.Lon, pos.Lat, pos.Lon)
		if dist > pol.RadiusM {
			outcome = ErrCourierAway
			data := positionData(pos, dist, pol.RadiusM)
			data["action"] = "verify"
			return s.appendDoorstepEvent(ctx, tx, p, x.CarrierID, &parcelguard.Event{Kind: parcelguard.EventDoorstepPositionFar, ParcelID: x.ID,
				Data: data})
		}
		if !d.NeedsPassword() {
			proof = &parcelguard.DoorstepProof{ParcelID: x.ID, Courier: p.Actor(), Lat: pos.Lat, Lon: pos.Lon, DistanceM: dist}
			return s.deliver(ctx, tx, p, x, d, proof, nil)
		}
		if d.Locked {
			outcome = parcelguard.ErrCodeLocked
			return s.appendDoorstepEvent(ctx, tx, p, x.CarrierID, &parcelguard.Event{Kind: parcelguard.EventDoorstepVerifyFailed, ParcelID: x.ID,
				Data: map[string]string{"why": "locked"}})
		}
		pw, err := s.matchPassword(ctx, tx, x.ID, password, s.clock.Now())
		if err != nil {
			return err
		}
		if pw == nil {
			outcome, err = s.wrongPassword(ctx, tx, p, x, d, pol)
			return err
		}
		proof = &parcelguard.DoorstepProof{ParcelID: x.ID, Holder: pw.Holder, DelegateName: pw.DelegateName,
			PasswordID: pw.ID, Courier: p.Actor(), Lat: pos.Lat, Lon: pos.Lon, DistanceM: dist}
		return s.deliver(ctx, tx, p, x, d, proof, pw)
	})
	if err != nil {
		return nil, fmt.Errorf("verify doorstep %s: %w", id, err)
	}
	if outcome != nil {
		return nil, fmt.Errorf("verify doorstep %s: %w", id, outcome)
	}
	return proof, nil
}

func positionData(pos Position, dist, radius float64) map[string]string {
	return map[string]string{"lat": strconv.FormatFloat(pos.Lat, 'f', 6, 64), "lon": strconv.FormatFloat(pos.Lon, 'f', 6, 64),
		"distance_m": strconv.FormatFloat(dist, 'f', 0, 64), "radius_m": strconv.FormatFloat(radius, 'f', 0, 64)}
}

// matchPassword returns the parcel's password usable at now whose hash
// matches password, or nil. It hashes against every usable password, so
// the time taken does not say which one matched.
func (s *Service) matchPassword(ctx context.Context, tx parcelguard.Tx, parcelID, password string, at time.Time) (*parcelguard.DoorstepPassword, error) {
	pws, err := tx.DoorstepPasswords(ctx, parcelID)
	if err != nil {
		return nil, err
	}
	var match *parcelguard.DoorstepPassword
	for _, pw := range pws {
		if pw.Usable(at) != nil {
			continue
		}
		h, err := s.keys.Hash(pw.KeyID, passwordScope(parcelID), password)
		if err != nil {
			return nil, err
		}
		if code.Equal(h, pw.CodeHash) && match == nil {
			match = pw
		}
	}
	return match, nil
}

// wrongPassword counts a wrong password against the day's limit and, at
// the limit, disables the day's passwords and fails the attempt. It
// returns the answer for the courier.
func (s *Service) wrongPassword(ctx context.Context, tx parcelguard.Tx, p parcelguard.Principal, x *parcelguard.Parcel,
	d *parcelguard.Doorstep, pol *parcelguard.DoorstepPolicy) (error, error) {
	d.Failures++
	d.UpdatedAt = s.clock.Now()
	if err := s.appendDoorstepEvent(ctx, tx, p, x.CarrierID, &parcelguard.Event{Kind: parcelguard.EventDoorstepVerifyFailed, ParcelID: x.ID,
		Data: map[string]string{"why": "wrong_password", "failures": strconv.Itoa(d.Failures)}}); err != nil {
		return nil, err
	}
	if d.Failures < parcelguard.MaxDoorstepPasswordFailures {
		return parcelguard.ErrCodeRejected, tx.SaveDoorstep(ctx, d)
	}
	d.Locked = true
	pws, err := tx.DoorstepPasswords(ctx, x.ID)
	if err != nil {
		return nil, err
	}
	for _, pw := range pws {
		if pw.State == parcelguard.GrantActive {
			pw.State = parcelguard.GrantLocked
			if err := tx.SaveDoorstepPassword(ctx, pw); err != nil {
				return nil, err
			}
		}
	}
	if err := s.appendDoorstepEvent(ctx, tx, p, x.CarrierID, &parcelguard.Event{Kind: parcelguard.EventDoorstepLocked, ParcelID: x.ID,
		Data: map[string]string{"failures": strconv.Itoa(d.Failures), "date": d.Date.String()}}); err != nil {
		return nil, err
	}
	day := d.Date
	if err := s.failAttempt(ctx, tx, p, x, d, pol, parcelguard.ReasonWrongPassword); err != nil {
		return nil, err
	}
	// The recipient hears of the lockout in its own message, which also
	// names the next attempt's date (reschedule sends no attempt-failed
	// notice for a lockout); a redirect or return has its own notice too.
	data := map[string]string{"date": s.formatDate(x, d, day)}
	if x.State == parcelguard.ParcelRescheduled {
		data["new_date"] = s.formatDate(x, d, d.Date)
	}
	return parcelguard.ErrCodeLocked, s.notifyRecipient(ctx, tx, x, parcelguard.MessageDoorstepPasswordDisabled,
		x.ID+":"+strconv.Itoa(d.Attempts), "", data)
}

// deliver completes the handover: the password (if any) is used, every
// other password of the parcel revoked, the proof stored, and the
// recipient's confirmation and the carrier's event enqueued.
func (s *Service) deliver(ctx context.Context, tx parcelguard.Tx, p parcelguard.Principal, x *parcelguard.Parcel,
	d *parcelguard.Doorstep, proof *parcelguard.DoorstepProof, pw *parcelguard.DoorstepPassword) error {
	now := s.clock.Now()
	if err := x.Transition(parcelguard.ParcelDelivered, now); err != nil {
		return err
	}
	if pw != nil {
		if err := pw.Use(now); err != nil {
			return err
		}
		if err := tx.SaveDoorstepPassword(ctx, pw); err != nil {
			return err
		}
	}
	if err := s.endPasswords(ctx, tx, x.ID, "", parcelguard.GrantRevoked); err != nil {
		return err
	}
	proof.At = now
	if err := tx.CreateDoorstepProof(ctx, proof); err != nil {
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
	by := string(proof.Holder)
	if by == "" {
		by = "none"
	}
	data := positionData(Position{proof.Lat, proof.Lon}, proof.DistanceM, 0)
	delete(data, "radius_m")
	data["verified_by"] = by
	if proof.DelegateName != "" {
		data["delegate"] = proof.DelegateName
	}
	if proof.Offline {
		data["offline"], data["recorded_at"] = "true", proof.RecordedAt.UTC().Format(time.RFC3339)
	}
	e := &parcelguard.Event{Kind: parcelguard.EventDoorstepDelivered, ParcelID: x.ID, Data: data}
	if pw != nil {
		e.GrantID = pw.ID
	}
	e.Stream = parcelguard.CarrierStream(x.CarrierID) // with the parcel's other doorstep events
	return s.recordForCarrier(ctx, tx, p, x, e, map[string]string{"verified_by": by})
}

// validPassword reports whether s has the shape of a delivery password.
func validPassword(s string) bool {
	if len(s) != 6 {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
