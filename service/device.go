package service

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/code"
	"github.com/parcelguard/parcelguard/devicemsg"
)

// The device side of the service: the cloud's half of the locker agents'
// offline operation. Grants reach a locker as commands through the device
// outbox (EnqueueDeviceCommand, in the transaction that issues or ends the
// grant), and what a locker did comes back as events applied exactly once
// (ApplyDeviceEvent).

// lockerKeyScope derives a locker's code key from a server key. A locker
// verifies PINs offline, so it needs a key; it gets one that is good for
// its own site only, so a stolen locker learns nothing about other sites.
func lockerKeyScope(siteID string) string { return "locker-key|" + siteID }

// LockerCodeKeys returns the keyring a site's locker verifies PINs and phone
// digits with: for each server key id, an HMAC-derived 32-byte key bound
// to the site. Hashes the cloud sends in grant commands are made under it.
func (s *Service) LockerCodeKeys(siteID string) (*code.Keyring, error) {
	keys, err := s.lockerKeyMap(siteID)
	if err != nil {
		return nil, err
	}
	kr, err := code.NewKeyring(s.keys.CurrentID(), keys)
	if err != nil {
		return nil, fmt.Errorf("locker code keys of %s: %w", siteID, err)
	}
	return kr, nil
}

func (s *Service) lockerKeyMap(siteID string) (map[string][]byte, error) {
	keys := map[string][]byte{}
	for _, id := range s.keys.IDs() {
		k, err := s.keys.Hash(id, lockerKeyScope(siteID), "")
		if err != nil {
			return nil, fmt.Errorf("locker code keys of %s: %w", siteID, err)
		}
		keys[id] = k
	}
	return keys, nil
}

// LockerCompartment is a compartment as a locker agent knows it: the id
// used in commands and events, the label on the door and the lock number
// on the lock board.
type LockerCompartment struct {
	ID    string `json:"id"`
	Label string `json:"label"`
	Lock  int    `json:"lock"`
}

// LockerProvision is what a newly provisioned locker agent needs besides
// its device-channel credentials: its code keys, the public keys of
// commands and QR tokens, and its compartments.
type LockerProvision struct {
	SiteID       string
	SiteName     string
	CodeKeyID    string
	CodeKeys     map[string][]byte
	PublicKeys   map[string]ed25519.PublicKey
	Compartments []LockerCompartment
}

// ProvisionLocker records the device-channel user of a site's locker (the
// caller made the credentials and keeps only the hash here), queues the
// site's active grants for it, and returns what the agent needs. Provisioning again replaces the user, so a stolen
// locker's credentials can be retired. Operators and admins only.
func (s *Service) ProvisionLocker(ctx context.Context, p parcelguard.Principal, siteID, user, passwordHash string) (*LockerProvision, error) {
	if err := require(p, parcelguard.RoleOperator); err != nil {
		return nil, err
	}
	if user == "" || passwordHash == "" {
		return nil, parcelguard.Invalid(parcelguard.FieldError{Field: "user", Message: "locker user and password hash are required"})
	}
	var (
		comps         []*parcelguard.Compartment
		site          *parcelguard.Site
		provisionedAt time.Time
	)
	err := s.update(ctx, func(tx parcelguard.Tx) (err error) {
		if site, err = tx.Site(ctx, siteID); err != nil {
			return err
		}
		if comps, err = tx.Compartments(ctx, siteID); err != nil {
			return err
		}
		now := s.clock.Now()
		provisionedAt = now
		l := &parcelguard.Locker{SiteID: siteID, User: user, PasswordHash: passwordHash, ProvisionedAt: now}
		if old, err := tx.Locker(ctx, siteID); err == nil {
			l.LastSeenAt = old.LastSeenAt
		} else if !errors.Is(err, parcelguard.ErrNotFound) {
			return err
		}
		if err := tx.SaveLocker(ctx, l); err != nil {
			return err
		}
		// A new (or replaced) locker starts with an empty store: send it
		// every grant it must honour. The provisioning time in the key makes
		// these commands new even for grants sent to a previous locker.
		grants, err := activeSiteGrants(ctx, tx, siteID)
		if err != nil {
			return err
		}
		for _, g := range grants {
			key := fmt.Sprintf("grant.new:%s:%d", g.ID, now.UnixNano())
			if _, err := s.enqueueDeviceCommand(ctx, tx, siteID, parcelguard.DeviceGrantNew, g.ID, key, nil); err != nil {
				return err
			}
		}
		return s.appendEvent(ctx, tx, p, &parcelguard.Event{Kind: parcelguard.EventLockerProvisioned, SiteID: siteID,
			Data: map[string]string{"user": user}})
	})
	if err != nil {
		return nil, fmt.Errorf("provision locker of %s: %w", siteID, err)
	}
	keys, err := s.lockerKeyMap(siteID)
	if err != nil {
		return nil, err
	}
	out := &LockerProvision{SiteID: siteID, SiteName: site.Name, CodeKeyID: s.keys.CurrentID(), CodeKeys: keys, PublicKeys: s.keys.PublicKeys()}
	out.Compartments = lockerMap(comps, provisionedAt)
	return out, nil
}

// Lockers lists the provisioned lockers (operators and the system).
func (s *Service) Lockers(ctx context.Context, p parcelguard.Principal) ([]*parcelguard.Locker, error) {
	if err := require(p, parcelguard.RoleOperator); err != nil {
		return nil, err
	}
	var out []*parcelguard.Locker
	err := s.store.View(ctx, func(tx parcelguard.Tx) (err error) {
		out, err = tx.Lockers(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list lockers: %w", err)
	}
	return out, nil
}

// enqueueDeviceCommand adds a command for the site's locker to the device
// outbox in tx, if the site has a provisioned locker; key names its cause.
func (s *Service) enqueueDeviceCommand(ctx context.Context, tx parcelguard.Tx, siteID string, kind parcelguard.DeviceCommandKind,
	grantID, key string, data map[string]string) (bool, error) {
	if _, err := tx.Locker(ctx, siteID); errors.Is(err, parcelguard.ErrNotFound) {
		return false, nil // no agent at this site: the kiosk API serves it
	} else if err != nil {
		return false, err
	}
	now := s.clock.Now()
	c := &parcelguard.DeviceCommand{ID: parcelguard.NewID("cmd", now), IdempotencyKey: key, SiteID: siteID, Kind: kind,
		GrantID: grantID, Data: data, DueAt: now, CreatedAt: now}
	if _, err := tx.EnqueueDeviceCommand(ctx, c); err != nil {
		return false, fmt.Errorf("enqueue %s command: %w", kind, err)
	}
	return true, nil
}

// deviceGrantIssued sends a new grant to its locker, in the transaction
// that issues it.
func (s *Service) deviceGrantIssued(ctx context.Context, tx parcelguard.Tx, g *parcelguard.Grant) error {
	_, err := s.enqueueDeviceCommand(ctx, tx, g.SiteID, parcelguard.DeviceGrantNew, g.ID, "grant.new:"+g.ID, nil)
	return err
}

// deviceGrantExtended resends a grant whose expiry moved later, so the
// locker honours the new deadline offline too.
func (s *Service) deviceGrantExtended(ctx context.Context, tx parcelguard.Tx, g *parcelguard.Grant) error {
	_, err := s.enqueueDeviceCommand(ctx, tx, g.SiteID, parcelguard.DeviceGrantNew, g.ID,
		"grant.new:"+g.ID+":"+strconv.FormatInt(g.ExpiresAt.Unix(), 10), nil)
	return err
}

// deviceGrantEnded withdraws a grant from its locker (used elsewhere,
// expired, revoked), in the transaction that ends it.
func (s *Service) deviceGrantEnded(ctx context.Context, tx parcelguard.Tx, g *parcelguard.Grant, reason string) error {
	_, err := s.enqueueDeviceCommand(ctx, tx, g.SiteID, parcelguard.DeviceGrantRevoke, g.ID, "grant.revoke:"+g.ID,
		map[string]string{"reason": reason})
	return err
}

// RemoteOpen asks a site's locker to open ONE compartment now, for an
// operator helping someone at the locker. The command expires within
// minutes (devicemsg.MaxDoorOpenLifetime) and the act is audited.
func (s *Service) RemoteOpen(ctx context.Context, p parcelguard.Principal, compartmentID, reason string) error {
	if err := require(p, parcelguard.RoleOperator); err != nil {
		return err
	}
	if reason == "" || len(reason) > devicemsg.MaxReasonLen || strings.ContainsFunc(reason, func(r rune) bool { return r < 0x20 || r == 0x7f || r == utf8.RuneError }) {
		return parcelguard.Invalid(parcelguard.FieldError{Field: "reason", Message: "must be 1 to 200 bytes of text without control characters"})
	}
	err := s.update(ctx, func(tx parcelguard.Tx) error {
		c, err := tx.Compartment(ctx, compartmentID)
		if err != nil {
			return err
		}
		ok, err := s.enqueueDeviceCommand(ctx, tx, c.SiteID, parcelguard.DeviceDoorOpen, "",
			"door.open:"+parcelguard.NewID("op", s.clock.Now()), map[string]string{"compartment": c.ID, "reason": reason})
		if err != nil {
			return err
		}
		if !ok {
			return parcelguard.Invalid(parcelguard.FieldError{Field: "compartment", Message: "its site has no locker agent"})
		}
		return s.appendEvent(ctx, tx, p, &parcelguard.Event{Kind: parcelguard.EventDoorRemoteOpen, SiteID: c.SiteID,
			CompartmentID: c.ID, Data: map[string]string{"label": c.Label, "reason": reason}})
	})
	if err != nil {
		return fmt.Errorf("remote open %s: %w", compartmentID, err)
	}
	return nil
}

// ConfigureLocker sends settings to a site's locker (operators only). The
// settings are checked here as the agent will check them
// (devicemsg.ValidateSetting), and the change is audited.
func (s *Service) ConfigureLocker(ctx context.Context, p parcelguard.Principal, siteID string, settings map[string]string) error {
	if err := require(p, parcelguard.RoleOperator); err != nil {
		return err
	}
	if len(settings) == 0 {
		return parcelguard.Invalid(parcelguard.FieldError{Field: "settings", Message: "name at least one setting"})
	}
	var bad []parcelguard.FieldError
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		if err := devicemsg.ValidateSetting(k, settings[k]); err != nil {
			bad = append(bad, parcelguard.FieldError{Field: "settings." + k, Message: strings.TrimPrefix(err.Error(), devicemsg.ErrMalformed.Error()+": ")})
		}
	}
	if len(bad) > 0 {
		return parcelguard.Invalid(bad...)
	}
	err := s.update(ctx, func(tx parcelguard.Tx) error {
		if _, err := tx.Site(ctx, siteID); err != nil {
			return err
		}
		ok, err := s.enqueueDeviceCommand(ctx, tx, siteID, parcelguard.DeviceConfig, "",
			"config:"+parcelguard.NewID("cfg", s.clock.Now()), settings)
		if err != nil {
			return err
		}
		if !ok {
			return parcelguard.Invalid(parcelguard.FieldError{Field: "site", Message: "has no locker agent"})
		}
		d := make(map[string]string, len(settings))
		for k, v := range settings {
			d["setting_"+k] = v
		}
		return s.appendEvent(ctx, tx, p, &parcelguard.Event{Kind: parcelguard.EventLockerConfigured, SiteID: siteID, Data: d})
	})
	if err != nil {
		return fmt.Errorf("configure locker of %s: %w", siteID, err)
	}
	return nil
}
