package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/code"
	"github.com/parcelguard/parcelguard/notify"
)

// Doorstep handover (DESIGN.md 1.2): a doorstep parcel that the carrier's
// policy marks gets a 6-digit delivery password on its delivery day, valid
// until the end of that date in the recipient's zone. The courier completes
// the delivery only when the password the recipient tells verifies here,
// on the server (SECURITY.md 12), with the courier at the address.

// DoorstepAnnouncement is a new doorstep shipment: the parcel, where it
// goes, and what the carrier's policy looks at.
type DoorstepAnnouncement struct {
	Parcel   parcelguard.Parcel
	Address  string
	Lat, Lon float64
	TimeZone string
	Country  string
	// Date is the planned delivery date; zero leaves it to the day the
	// parcel goes out for delivery.
	Date       parcelguard.DeliveryDate
	Categories []string
	// PasswordFlag is the carrier's per-shipment request for a password;
	// OptIn the recipient's.
	PasswordFlag bool
	OptIn        bool
}

// DoorstepParcel is a doorstep parcel with its delivery record and, once
// delivered, its proof.
type DoorstepParcel struct {
	Parcel   *parcelguard.Parcel
	Doorstep *parcelguard.Doorstep
	Proof    *parcelguard.DoorstepProof
}

// passwordScope binds a delivery password's hash to its parcel, so a
// password means nothing for any other parcel.
func passwordScope(parcelID string) string { return "doorstep|" + parcelID }

// appendDoorstepEvent appends e to the carrier's doorstep audit stream
// (parcelguard.CarrierStream), even when it names a site: a doorstep
// parcel's whole story stays in one chain, and doorstep changes of
// different carriers never contend for one chain head.
func (s *Service) appendDoorstepEvent(ctx context.Context, tx parcelguard.Tx, p parcelguard.Principal, carrierID string, e *parcelguard.Event) error {
	e.Stream = parcelguard.CarrierStream(carrierID)
	return s.appendEvent(ctx, tx, p, e)
}

// doorstepPolicy returns the carrier's saved policy or the default.
func doorstepPolicy(ctx context.Context, tx parcelguard.Tx, carrierID string) (*parcelguard.DoorstepPolicy, error) {
	p, err := tx.DoorstepPolicy(ctx, carrierID)
	if errors.Is(err, parcelguard.ErrNotFound) {
		return parcelguard.DefaultDoorstepPolicy(carrierID), nil
	}
	return p, err
}

// AnnounceDoorstep registers a doorstep shipment and decides, by the
// carrier's policy, whether it needs a delivery password.
func (s *Service) AnnounceDoorstep(ctx context.Context, p parcelguard.Principal, in DoorstepAnnouncement) (*DoorstepParcel, error) {
	if err := require(p, parcelguard.RoleCarrier, parcelguard.RoleOperator); err != nil {
		return nil, err
	}
	x := in.Parcel
	if p.Role == parcelguard.RoleCarrier {
		x.CarrierID = p.CarrierID
	}
	x.Mode, x.SiteID = parcelguard.HandoverDoorstep, ""
	now := s.clock.Now()
	d := &parcelguard.Doorstep{Address: in.Address, Lat: in.Lat, Lon: in.Lon, TimeZone: in.TimeZone,
		Country: strings.ToUpper(in.Country), Date: in.Date, CreatedAt: now, UpdatedAt: now}
	var fields []parcelguard.FieldError
	for _, err := range []error{x.Validate(), d.Validate()} {
		var e *parcelguard.Error
		if errors.As(err, &e) {
			fields = append(fields, e.Fields...)
		}
	}
	if x.CarrierID == "" {
		fields = append(fields, parcelguard.FieldError{Field: "carrier_id", Message: "is required"})
	}
	if len(in.Categories) > 20 {
		fields = append(fields, parcelguard.FieldError{Field: "categories", Message: "must list at most 20 categories"})
	}
	if !in.Date.IsZero() && in.Date.Before(parcelguard.DeliveryDateOf(now, d.Location())) {
		fields = append(fields, parcelguard.FieldError{Field: "delivery_date", Message: "must not be in the past"})
	}
	if len(fields) > 0 {
		return nil, parcelguard.Invalid(fields...)
	}
	x.ID = parcelguard.NewID("par", now)
	x.State, x.CompartmentID, x.Deadline = parcelguard.ParcelAnnounced, "", time.Time{}
	x.CreatedAt, x.UpdatedAt = now, now
	d.ParcelID, d.CarrierID = x.ID, x.CarrierID
	err := s.update(ctx, func(tx parcelguard.Tx) error {
		if _, err := tx.Carrier(ctx, x.CarrierID); err != nil {
			return fmt.Errorf("carrier %s: %w", x.CarrierID, fieldNotFound("carrier_id", err))
		}
		pol, err := doorstepPolicy(ctx, tx, x.CarrierID)
		if err != nil {
			return err
		}
		d.PasswordReason = pol.RequiresPassword(parcelguard.DoorstepShipment{DeclaredValue: x.DeclaredValue,
			Currency: x.Currency, Categories: in.Categories, Flag: in.PasswordFlag, OptIn: in.OptIn})
		if err := tx.CreateParcel(ctx, &x); err != nil {
			return err
		}
		if err := tx.CreateDoorstep(ctx, d); err != nil {
			return err
		}
		return s.appendDoorstepEvent(ctx, tx, p, x.CarrierID, &parcelguard.Event{Kind: parcelguard.EventParcelAnnounced, ParcelID: x.ID,
			Data: map[string]string{"tracking_number": x.TrackingNumber, "mode": string(x.Mode), "size": string(x.Size),
				"password": string(d.PasswordReason), "country": d.Country}})
	})
	if err != nil {
		return nil, fmt.Errorf("announce doorstep %s: %w", in.Parcel.TrackingNumber, err)
	}
	return &DoorstepParcel{Parcel: &x, Doorstep: d}, nil
}

// DoorstepPolicy returns a carrier's doorstep policy (the default if it
// saved none). Carrier-bound callers see only their own.
func (s *Service) DoorstepPolicy(ctx context.Context, p parcelguard.Principal, carrierID string) (*parcelguard.DoorstepPolicy, error) {
	if err := require(p, parcelguard.RoleCarrier, parcelguard.RoleOperator); err != nil {
		return nil, err
	}
	if p.Role == parcelguard.RoleCarrier && p.CarrierID != carrierID {
		return nil, parcelguard.ErrNotFound
	}
	var out *parcelguard.DoorstepPolicy
	err := s.store.View(ctx, func(tx parcelguard.Tx) (err error) {
		if _, err := tx.Carrier(ctx, carrierID); err != nil {
			return err
		}
		out, err = doorstepPolicy(ctx, tx, carrierID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("doorstep policy of %s: %w", carrierID, err)
	}
	return out, nil
}

// SetDoorstepPolicy replaces a carrier's doorstep policy. It applies to
// shipments announced afterwards.
func (s *Service) SetDoorstepPolicy(ctx context.Context, p parcelguard.Principal, in parcelguard.DoorstepPolicy) (*parcelguard.DoorstepPolicy, error) {
	if err := require(p, parcelguard.RoleCarrier, parcelguard.RoleOperator); err != nil {
		return nil, err
	}
	if p.Role == parcelguard.RoleCarrier && p.CarrierID != in.CarrierID {
		return nil, parcelguard.ErrNotFound
	}
	for i, c := range in.Categories {
		in.Categories[i] = strings.ToLower(c)
	}
	in.Currency = strings.ToUpper(in.Currency)
	if err := in.Validate(); err != nil {
		return nil, err
	}
	out := in
	err := s.update(ctx, func(tx parcelguard.Tx) error {
		if _, err := tx.Carrier(ctx, in.CarrierID); err != nil {
			return err
		}
		old, err := tx.DoorstepPolicy(ctx, in.CarrierID)
		switch {
		case errors.Is(err, parcelguard.ErrNotFound):
			out.Version = 0
		case err != nil:
			return err
		default:
			out.Version = old.Version
		}
		out.UpdatedAt = s.clock.Now()
		if err := tx.SaveDoorstepPolicy(ctx, &out); err != nil {
			return err
		}
		return s.appendDoorstepEvent(ctx, tx, p, out.CarrierID, &parcelguard.Event{Kind: parcelguard.EventDoorstepPolicySaved,
			Data: map[string]string{"carrier_id": out.CarrierID, "value_threshold": fmt.Sprint(out.ValueThreshold),
				"categories": strings.Join(out.Categories, ","), "max_attempts": fmt.Sprint(out.MaxAttempts),
				"fallback": string(out.Fallback), "radius_m": fmt.Sprint(out.RadiusM)}})
	})
	if err != nil {
		return nil, fmt.Errorf("set doorstep policy of %s: %w", in.CarrierID, err)
	}
	return &out, nil
}

// DoorstepParcel returns a doorstep parcel the caller may see, with its
// delivery record and proof.
func (s *Service) DoorstepParcel(ctx context.Context, p parcelguard.Principal, id string) (*DoorstepParcel, error) {
	if err := require(p, parcelguard.RoleCarrier, parcelguard.RoleCourier, parcelguard.RoleOperator); err != nil {
		return nil, err
	}
	out := &DoorstepParcel{}
	err := s.store.View(ctx, func(tx parcelguard.Tx) (err error) {
		if out.Parcel, err = visibleParcel(ctx, tx, p, id); err != nil {
			return err
		}
		if out.Doorstep, err = tx.Doorstep(ctx, id); err != nil {
			return err
		}
		out.Proof, err = tx.DoorstepProof(ctx, id)
		if errors.Is(err, parcelguard.ErrNotFound) {
			out.Proof, err = nil, nil
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("doorstep parcel %s: %w", id, err)
	}
	return out, nil
}

// loadDoorstep loads a parcel the caller may see and its doorstep record.
func loadDoorstep(ctx context.Context, tx parcelguard.Tx, p parcelguard.Principal, id string) (*parcelguard.Parcel, *parcelguard.Doorstep, error) {
	x, err := visibleParcel(ctx, tx, p, id)
	if err != nil {
		return nil, nil, err
	}
	if x.Mode != parcelguard.HandoverDoorstep {
		return nil, nil, fmt.Errorf("locker parcel: %w", parcelguard.ErrIllegalTransition)
	}
	d, err := tx.Doorstep(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	return x, d, nil
}

// OutForDelivery sends a doorstep parcel out for delivery today (in the
// recipient's zone). routeSeq places it in the courier's route (zero
// keeps the current place). A parcel that needs a password gets a fresh
// one, sent to the recipient. A parcel already out today only moves in
// the route.
func (s *Service) OutForDelivery(ctx context.Context, p parcelguard.Principal, id string, routeSeq int) (*DoorstepParcel, error) {
	if err := require(p, parcelguard.RoleCourier, parcelguard.RoleCarrier, parcelguard.RoleOperator); err != nil {
		return nil, err
	}
	if routeSeq < 0 || routeSeq > 100_000 {
		return nil, parcelguard.Invalid(parcelguard.FieldError{Field: "route_seq", Message: "must be between 0 and 100000"})
	}
	out := &DoorstepParcel{}
	err := s.update(ctx, func(tx parcelguard.Tx) (err error) {
		if out.Parcel, out.Doorstep, err = loadDoorstep(ctx, tx, p, id); err != nil {
			return err
		}
		return s.sendOut(ctx, tx, p, out.Parcel, out.Doorstep, routeSeq)
	})
	if err != nil {
		return nil, fmt.Errorf("out for delivery %s: %w", id, err)
	}
	return out, nil
}

// sendOut moves x out for delivery today inside tx.
func (s *Service) sendOut(ctx context.Context, tx parcelguard.Tx, p parcelguard.Principal, x *parcelguard.Parcel, d *parcelguard.Doorstep, routeSeq int) error {
	now := s.clock.Now()
	today := parcelguard.DeliveryDateOf(now, d.Location())
	if routeSeq > 0 {
		d.RouteSeq = routeSeq
	}
	if x.State == parcelguard.ParcelOutForDelivery && d.Date == today {
		d.UpdatedAt = now
		return tx.SaveDoorstep(ctx, d)
	}
	if x.State == parcelguard.ParcelRescheduled && today.Before(d.Date) {
		return parcelguard.Errorf(parcelguard.ECONFLICT, "the next attempt is scheduled for %s", d.Date)
	}
	if err := x.Transition(parcelguard.ParcelOutForDelivery, now); err != nil {
		return err
	}
	d.Date, d.Failures, d.Locked, d.UpdatedAt = today, 0, false, now
	if err := tx.CancelTimers(ctx, x.ID, parcelguard.TimerDoorstepRedeliver); err != nil {
		return err
	}
	if err := s.scheduleDayEnd(ctx, tx, x, d); err != nil {
		return err
	}
	var pw *parcelguard.DoorstepPassword
	if d.NeedsPassword() {
		var err error
		if err = s.endPasswords(ctx, tx, x.ID, parcelguard.HolderRecipient, parcelguard.GrantExpired); err != nil {
			return err
		}
		if pw, _, err = s.issuePassword(ctx, tx, x, d, parcelguard.HolderRecipient, ""); err != nil {
			return err
		}
	}
	if err := tx.SaveParcel(ctx, x); err != nil {
		return err
	}
	if err := tx.SaveDoorstep(ctx, d); err != nil {
		return err
	}
	data := map[string]string{"date": today.String(), "attempt": fmt.Sprint(d.Attempts + 1)}
	e := &parcelguard.Event{Kind: parcelguard.EventDoorstepOutForDelivery, ParcelID: x.ID, Data: data}
	if pw != nil {
		e.GrantID = pw.ID
		if err := s.notifyRecipient(ctx, tx, x, parcelguard.MessageDoorstepPassword, pw.ID, pw.ID,
			map[string]string{"date": s.formatDate(x, d, today)}); err != nil {
			return err
		}
	}
	if err := s.notifyCarrierOnce(ctx, tx, x, parcelguard.EventDoorstepOutForDelivery, today.String(),
		map[string]string{"date": today.String()}); err != nil {
		return err
	}
	return s.appendDoorstepEvent(ctx, tx, p, x.CarrierID, e)
}

// formatDate renders a delivery date for the recipient's messages.
func (s *Service) formatDate(x *parcelguard.Parcel, d *parcelguard.Doorstep, day parcelguard.DeliveryDate) string {
	loc := d.Location()
	return notify.FormatDate(x.Recipient.Language, time.Date(day.Year, day.Month, day.Day, 12, 0, 0, 0, loc), loc)
}

// issuePassword creates a delivery password for d's date, valid from now
// until the end of that date in the recipient's zone, stored only as a
// keyed hash and sealed for its holder's eyes. It returns the plaintext
// for the one caller (a delegate's creation) that shows it at once.
func (s *Service) issuePassword(ctx context.Context, tx parcelguard.Tx, x *parcelguard.Parcel, d *parcelguard.Doorstep,
	holder parcelguard.PasswordHolder, delegate string) (*parcelguard.DoorstepPassword, string, error) {
	now := s.clock.Now()
	end, err := d.Date.EndIn(d.Location())
	if err != nil {
		return nil, "", err
	}
	pin, err := code.GeneratePIN()
	if err != nil {
		return nil, "", err
	}
	keyID := s.keys.CurrentID()
	pw := &parcelguard.DoorstepPassword{ID: parcelguard.NewID("dpw", now), ParcelID: x.ID, Holder: holder,
		DelegateName: delegate, State: parcelguard.GrantActive, KeyID: keyID, Date: d.Date,
		NotBefore: now, ExpiresAt: end, CreatedAt: now}
	if pw.CodeHash, err = s.keys.Hash(keyID, passwordScope(x.ID), pin); err != nil {
		return nil, "", err
	}
	if pw.CodeSealed, err = s.keys.Seal(keyID, []byte(pw.ID), []byte(pin)); err != nil {
		return nil, "", err
	}
	if err := tx.CreateDoorstepPassword(ctx, pw); err != nil {
		return nil, "", err
	}
	return pw, pin, nil
}

// endPasswords moves the parcel's active or locked passwords of holder
// (every holder if empty) to state to.
func (s *Service) endPasswords(ctx context.Context, tx parcelguard.Tx, parcelID string, holder parcelguard.PasswordHolder, to parcelguard.GrantState) error {
	pws, err := tx.DoorstepPasswords(ctx, parcelID)
	if err != nil {
		return err
	}
	for _, pw := range pws {
		if (holder == "" || pw.Holder == holder) && (pw.State == parcelguard.GrantActive || pw.State == parcelguard.GrantLocked) {
			pw.End(to)
			if err := tx.SaveDoorstepPassword(ctx, pw); err != nil {
				return err
			}
		}
	}
	return nil
}

// DoorstepCode returns the plaintext of a delivery password for the
// message renderer (notify.DoorstepCodeSource); only active passwords.
func (s *Service) DoorstepCode(ctx context.Context, passwordID string) (string, *parcelguard.DoorstepPassword, error) {
	var pw *parcelguard.DoorstepPassword
	err := s.store.View(ctx, func(tx parcelguard.Tx) (err error) {
		pw, err = tx.DoorstepPassword(ctx, passwordID)
		return err
	})
	if err != nil {
		return "", nil, fmt.Errorf("doorstep code %s: %w", passwordID, err)
	}
	if pw.State != parcelguard.GrantActive {
		return "", nil, fmt.Errorf("doorstep code %s is %s: %w", passwordID, pw.State, parcelguard.ErrNotFound)
	}
	plain, err := s.keys.Open(pw.KeyID, []byte(pw.ID), pw.CodeSealed)
	if err != nil {
		return "", nil, fmt.Errorf("open doorstep code %s: %w", passwordID, err)
	}
	return string(plain), pw, nil
}

// DoorstepStop is one delivery of a courier's day.
type DoorstepStop struct {
	Parcel   *parcelguard.Parcel
	Doorstep *parcelguard.Doorstep
}

// DoorstepManifest lists the doorstep deliveries of a day in route order:
// parcels out for delivery that day, rescheduled to it, or announced for
// it. A zero day is today where each delivery is (see todaysStops).
// Carrier and courier keys see their carrier's only.
func (s *Service) DoorstepManifest(ctx context.Context, p parcelguard.Principal, day parcelguard.DeliveryDate) ([]DoorstepStop, error) {
	if err := require(p, parcelguard.RoleCarrier, parcelguard.RoleCourier, parcelguard.RoleOperator); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	var out []DoorstepStop
	err := s.store.View(ctx, func(tx parcelguard.Tx) (err error) {
		if day.IsZero() {
			out, err = todaysStops(ctx, tx, p, now)
		} else {
			out, err = doorstepStops(ctx, tx, p, day, nil)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("doorstep manifest: %w", err)
	}
	return out, nil
}

// todaysStops lists the caller's doorstep deliveries due today in their
// own recipients' zones, which is the date the courier works by there:
// at 23:30 UTC it is already tomorrow in Warsaw, and a UTC date would show
// a Polish courier's morning round only from 01:00. Every zone's date is
// within a day of UTC's, so three dates hold every candidate.
func todaysStops(ctx context.Context, tx parcelguard.Tx, p parcelguard.Principal, now time.Time) ([]DoorstepStop, error) {
	today := func(d *parcelguard.Doorstep) bool { return d.Date == parcelguard.DeliveryDateOf(now, d.Location()) }
	utc := parcelguard.DeliveryDateOf(now, time.UTC)
	var out []DoorstepStop
	for _, day := range []parcelguard.DeliveryDate{utc.AddDays(-1), utc, utc.AddDays(1)} {
		stops, err := doorstepStops(ctx, tx, p, day, today)
		if err != nil {
			return nil, err
		}
		out = append(out, stops...)
	}
	return out, nil
}

// doorstepStops lists the caller's doorstep deliveries of day in route
// order, only those keep accepts if keep is set (checked before their
// parcels are read).
func doorstepStops(ctx context.Context, tx parcelguard.Tx, p parcelguard.Principal, day parcelguard.DeliveryDate,
	keep func(*parcelguard.Doorstep) bool) ([]DoorstepStop, error) {
	f := parcelguard.DoorstepFilter{Date: day, Limit: 2000}
	if p.Role == parcelguard.RoleCarrier || p.Role == parcelguard.RoleCourier {
		f.CarrierID = p.CarrierID
	}
	ds, err := tx.Doorsteps(ctx, f)
	if err != nil {
		return nil, err
	}
	var out []DoorstepStop
	for _, d := range ds {
		if keep != nil && !keep(d) {
			continue
		}
		x, err := tx.Parcel(ctx, d.ParcelID)
		if err != nil {
			return nil, err
		}
		switch x.State {
		case parcelguard.ParcelOutForDelivery, parcelguard.ParcelRescheduled, parcelguard.ParcelAnnounced:
			out = append(out, DoorstepStop{Parcel: x, Doorstep: d})
		}
	}
	return out, nil
}
