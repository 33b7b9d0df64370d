package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/devicemsg"
)

// CommandPublisher delivers signed commands to lockers' durable command
// queues; nats.Cloud implements it.
type CommandPublisher interface {
	// PublishCommands publishes the commands in order and returns each
	// one's error: nil means the locker's queue has it.
	PublishCommands(ctx context.Context, out []devicemsg.Outgoing) []error
}

// Device outbox dispatch policy.
const (
	deviceBatch = 100
	deviceLease = 30 * time.Second
	// devicePublishTimeout bounds the wait for a batch's commands to be
	// stored by the device channel; well inside deviceLease.
	devicePublishTimeout = 10 * time.Second
	deviceRetryBase      = time.Second
	deviceRetryMax       = time.Minute
	// revokeLifetime is how long a revoke stays acceptable: as long as the
	// stream keeps it, so a locker offline for days still gets it.
	revokeLifetime = CommandRetention
	configLifetime = 24 * time.Hour
)

// RemoteOpenLifetime is how long after an operator asked a remote open the
// locker still accepts it: the door is opened for someone there now.
const RemoteOpenLifetime = 5 * time.Minute

// errSkipCommand says a queued command no longer needs sending (its grant
// ended before it went out, a remote open went stale): it is marked sent.
var errSkipCommand = errors.New("command no longer needed")

// DispatchDeviceCommands sends every due command of the device outbox and
// returns how many went out. A command is marked sent only after the
// publisher has it, so none is lost; one that fails is retried with
// backoff. The command id is the message id, so a command sent twice
// after a crash is stored once (and a locker applies grants by grant id).
func (s *Service) DispatchDeviceCommands(ctx context.Context, pub CommandPublisher) (int, error) {
	sent := 0
	for {
		var batch []*parcelguard.DeviceCommand
		err := s.store.Update(ctx, func(tx parcelguard.Tx) (err error) {
			batch, err = tx.ClaimDeviceCommands(ctx, s.clock.Now(), deviceBatch, deviceLease)
			return err
		})
		if err != nil {
			return sent, fmt.Errorf("claim device commands: %w", err)
		}
		if len(batch) == 0 {
			return sent, nil
		}
		n, err := s.sendDeviceCommands(ctx, pub, batch)
		sent += n
		if len(batch) < deviceBatch || err != nil {
			return sent, err
		}
	}
}

// sendDeviceCommands builds and signs a claimed batch, publishes it in
// order without waiting on each command in turn, and records the
// outcomes in one transaction, returning how many went out. A publish
// failure is not an error of the pass: it schedules a retry. Only failing
// to record an outcome is.
func (s *Service) sendDeviceCommands(ctx context.Context, pub CommandPublisher, batch []*parcelguard.DeviceCommand) (int, error) {
	errs := make([]error, len(batch))
	out := make([]devicemsg.Outgoing, 0, len(batch))
	built := make([]int, 0, len(batch)) // out[j] is batch[built[j]]
	read := s.readLockerGrants(ctx, batch)
	for i, c := range batch {
		sc, err := s.buildDeviceCommand(ctx, c, read)
		if err != nil {
			errs[i] = err
			continue
		}
		out = append(out, devicemsg.Outgoing{LockerID: c.SiteID, Command: sc})
		built = append(built, i)
	}
	if len(out) > 0 {
		pctx, cancel := context.WithTimeout(ctx, devicePublishTimeout)
		for j, err := range pub.PublishCommands(pctx, out) {
			errs[built[j]] = err
		}
		cancel()
	}

	now := s.clock.Now()
	sent := 0
	delivered := func(i int) bool { return errs[i] == nil || errors.Is(errs[i], errSkipCommand) }
	record := func(tx parcelguard.Tx, i int) error {
		c, err := batch[i], errs[i]
		if delivered(i) {
			if err := tx.MarkDeviceCommandsSent(ctx, []string{c.ID}, now); err != nil {
				return fmt.Errorf("mark device command %s sent: %w", c.ID, err)
			}
			return nil
		}
		delay := min(deviceRetryBase<<min(c.Attempts, 10), deviceRetryMax)
		if err := tx.MarkDeviceCommandRetry(ctx, c.ID, c.Lease, now.Add(delay), err.Error()); err != nil {
			return fmt.Errorf("retry device command %s: %w", c.ID, err)
		}
		return nil
	}
	// All outcomes in one transaction, the deliveries in one statement; if
	// that fails, one by one, so one command that cannot be recorded holds
	// back no other. An outcome not recorded keeps its lease until it runs
	// out and is sent again then; the command id makes the repeat harmless.
	all := func(tx parcelguard.Tx) error {
		ids := make([]string, 0, len(batch))
		for i, c := range batch {
			if delivered(i) {
				ids = append(ids, c.ID)
			}
		}
		if err := tx.MarkDeviceCommandsSent(ctx, ids, now); err != nil {
			return err
		}
		for i := range batch {
			if delivered(i) {
				continue
			}
			if err := record(tx, i); err != nil {
				return err
			}
		}
		return nil
	}
	recorded := make([]bool, len(batch))
	var failed []error
	if err := s.store.Update(ctx, all); err == nil {
		for i := range recorded {
			recorded[i] = true
		}
	} else {
		for i := range batch {
			if err := s.store.Update(ctx, func(tx parcelguard.Tx) error { return record(tx, i) }); err != nil {
				failed = append(failed, err)
				continue
			}
			recorded[i] = true
		}
	}
	for i, c := range batch {
		switch err := errs[i]; {
		case !recorded[i]:
		case err == nil:
			sent++
		case !errors.Is(err, errSkipCommand):
			s.log.Warn("device command not sent, retrying", "command", c.ID, "site", c.SiteID, "kind", c.Kind, "attempts", c.Attempts, "err", err)
		}
	}
	return sent, errors.Join(failed...)
}

// buildDeviceCommand turns an outbox row into the signed wire command. A
// grant's hashes are made now, under the site's locker key, from the
// sealed PIN: the outbox never holds them.
func (s *Service) buildDeviceCommand(ctx context.Context, c *parcelguard.DeviceCommand, read map[string]lockerGrant) (devicemsg.SignedCommand, error) {
	now := s.clock.Now()
	cmd := devicemsg.Command{ID: c.ID, LockerID: c.SiteID, Kind: devicemsg.CommandKind(c.Kind), Nonce: devicemsg.NewNonce(), IssuedAt: now}
	switch c.Kind {
	case parcelguard.DeviceGrantNew:
		g, err := s.grantForLocker(ctx, c.GrantID, read[c.GrantID], now)
		if err != nil {
			return devicemsg.SignedCommand{}, err
		}
		cmd.GrantNew = g
		cmd.ExpiresAt = earlier(g.ExpiresAt, now.Add(devicemsg.MaxCommandLifetime))
	case parcelguard.DeviceGrantRevoke:
		cmd.GrantRevoke = &devicemsg.GrantRevoke{GrantID: c.GrantID, Reason: c.Data["reason"]}
		cmd.ExpiresAt = now.Add(revokeLifetime)
	case parcelguard.DeviceDoorOpen:
		if now.Sub(c.CreatedAt) > devicemsg.MaxDoorOpenLifetime {
			return devicemsg.SignedCommand{}, fmt.Errorf("remote open of %s queued at %s: %w", c.Data["compartment"], c.CreatedAt, errSkipCommand)
		}
		cmd.DoorOpen = &devicemsg.DoorOpen{Compartment: c.Data["compartment"], Reason: c.Data["reason"]}
		cmd.ExpiresAt = c.CreatedAt.Add(RemoteOpenLifetime)
	case parcelguard.DeviceConfig:
		cfg, err := s.buildConfig(ctx, c)
		if err != nil {
			return devicemsg.SignedCommand{}, err
		}
		cmd.Config = cfg
		cmd.ExpiresAt = now.Add(configLifetime)
	default:
		return devicemsg.SignedCommand{}, fmt.Errorf("device command %s: unknown kind %q: %w", c.ID, c.Kind, errSkipCommand)
	}
	keyID := s.keys.CurrentID()
	priv, err := s.keys.SigningKey(keyID)
	if err != nil {
		return devicemsg.SignedCommand{}, err
	}
	sc, err := devicemsg.Sign(cmd, keyID, priv)
	if err != nil {
		return devicemsg.SignedCommand{}, fmt.Errorf("device command %s: %w", c.ID, err)
	}
	return sc, nil
}

// grantForLocker builds the grant.new payload of an active grant, or
// errSkipCommand if the grant ended before it could be sent.
func (s *Service) grantForLocker(ctx context.Context, grantID string, read lockerGrant, now time.Time) (*devicemsg.GrantNew, error) {
	g, x := read.g, read.x
	if g == nil {
		err := s.store.View(ctx, func(tx parcelguard.Tx) (err error) {
			g, x, err = lockerGrantIn(ctx, tx, grantID)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("grant %s for its locker: %w", grantID, err)
		}
	}
	if g.State != parcelguard.GrantActive || !now.Before(g.ExpiresAt) {
		return nil, fmt.Errorf("grant %s is %s: %w", g.ID, g.State, errSkipCommand)
	}
	pin, err := s.keys.Open(g.KeyID, []byte(g.ID), g.CodeSealed)
	if err != nil {
		return nil, fmt.Errorf("open sealed code of grant %s: %w", g.ID, err)
	}
	kr, err := s.LockerCodeKeys(g.SiteID)
	if err != nil {
		return nil, err
	}
	out := &devicemsg.GrantNew{GrantID: g.ID, ParcelID: g.ParcelID, Compartment: g.CompartmentID,
		Purpose: devicemsg.Purpose(g.Purpose), KeyID: g.KeyID, NotBefore: g.NotBefore, ExpiresAt: g.ExpiresAt}
	if out.CodeHash, err = kr.Hash(g.KeyID, codeScope(g.Purpose, g.SiteID), string(pin)); err != nil {
		return nil, err
	}
	if g.PhoneHash != nil && g.Purpose == parcelguard.PurposePickup {
		if out.PhoneHash, err = kr.Hash(g.KeyID, phoneScope(g.ID), x.Recipient.PhoneDigits(parcelguard.PhoneFactorDigits)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// lockerGrant is the grant of a grant.new command and its parcel.
type lockerGrant struct {
	g *parcelguard.Grant
	x *parcelguard.Parcel
}

// readLockerGrants reads the grants of a batch's grant.new commands, and
// their parcels, in one transaction rather than one per command (on
// PostgreSQL, four round trips a grant). A grant it could not read is left
// out, to be read by its command alone, which then says why.
func (s *Service) readLockerGrants(ctx context.Context, batch []*parcelguard.DeviceCommand) map[string]lockerGrant {
	read := map[string]lockerGrant{}
	err := s.store.View(ctx, func(tx parcelguard.Tx) error {
		for _, c := range batch {
			if c.Kind != parcelguard.DeviceGrantNew {
				continue
			}
			g, x, err := lockerGrantIn(ctx, tx, c.GrantID)
			if errors.Is(err, parcelguard.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			read[c.GrantID] = lockerGrant{g, x}
		}
		return nil
	})
	if err != nil {
		return nil // every command reads for itself
	}
	return read
}

// lockerGrantIn reads a grant and its parcel in tx.
func lockerGrantIn(ctx context.Context, tx parcelguard.Tx, grantID string) (*parcelguard.Grant, *parcelguard.Parcel, error) {
	g, err := tx.Grant(ctx, grantID)
	if err != nil {
		return nil, nil, err
	}
	x, err := tx.Parcel(ctx, g.ParcelID)
	return g, x, err
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// DefaultDeviceInterval is how often RunDeviceDispatcher sends queued
// commands when no interval is given.
const DefaultDeviceInterval = 500 * time.Millisecond

// RunDeviceDispatcher sends due device commands until ctx ends, every
// interval of real time (DefaultDeviceInterval if not positive).
func (s *Service) RunDeviceDispatcher(ctx context.Context, pub CommandPublisher, interval time.Duration) error {
	if interval <= 0 {
		interval = DefaultDeviceInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := s.DispatchDeviceCommands(ctx, pub); err != nil && ctx.Err() == nil {
			s.log.Error("device dispatch failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
