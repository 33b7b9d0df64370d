package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/devicemsg"
)

// CommandPublisher delivers a signed command to a locker's durable command
// queue; nats.Cloud implements it. A nil error means the queue has it.
type CommandPublisher interface {
	PublishCommand(ctx context.Context, lockerID string, sc devicemsg.SignedCommand) error
}

// Device outbox dispatch policy.
const (
	deviceBatch     = 100
	deviceLease     = 30 * time.Second
	deviceRetryBase = time.Second
	deviceRetryMax  = time.Minute
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
		var errs []error
		for _, c := range batch {
			ok, err := s.sendDeviceCommand(ctx, pub, c)
			if ok {
				sent++
			}
			if err != nil {
				errs = append(errs, err)
			}
		}
		if len(batch) < deviceBatch || len(errs) > 0 {
			return sent, errors.Join(errs...)
		}
	}
}

// sendDeviceCommand builds, signs and publishes one command and records the
// outcome. A publish failure is not an error of the pass: it schedules a
// retry. Only failing to record an outcome is.
func (s *Service) sendDeviceCommand(ctx context.Context, pub CommandPublisher, c *parcelguard.DeviceCommand) (bool, error) {
	sc, err := s.buildDeviceCommand(ctx, c)
	if err == nil {
		err = pub.PublishCommand(ctx, c.SiteID, sc)
	}
	now := s.clock.Now()
	if err == nil || errors.Is(err, errSkipCommand) {
		if err := s.store.Update(ctx, func(tx parcelguard.Tx) error { return tx.MarkDeviceCommandSent(ctx, c.ID, now) }); err != nil {
			return false, fmt.Errorf("mark device command %s sent: %w", c.ID, err)
		}
		return err == nil, nil
	}
	delay := deviceRetryBase << min(c.Attempts, 10)
	delay = min(delay, deviceRetryMax)
	s.log.Warn("device command not sent, retrying", "command", c.ID, "site", c.SiteID, "kind", c.Kind, "attempts", c.Attempts, "err", err)
	if err := s.store.Update(ctx, func(tx parcelguard.Tx) error {
		return tx.MarkDeviceCommandRetry(ctx, c.ID, c.Lease, now.Add(delay), err.Error())
	}); err != nil {
		return false, fmt.Errorf("retry device command %s: %w", c.ID, err)
	}
	return false, nil
}

// buildDeviceCommand turns an outbox row into the signed wire command. A
// grant's hashes are made now, under the site's locker key, from the
// sealed PIN: the outbox never holds them.
func (s *Service) buildDeviceCommand(ctx context.Context, c *parcelguard.DeviceCommand) (devicemsg.SignedCommand, error) {
	now := s.clock.Now()
	cmd := devicemsg.Command{ID: c.ID, LockerID: c.SiteID, Kind: devicemsg.CommandKind(c.Kind), Nonce: devicemsg.NewNonce(), IssuedAt: now}
	switch c.Kind {
	case parcelguard.DeviceGrantNew:
		g, err := s.grantForLocker(ctx, c.GrantID, now)
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
func (s *Service) grantForLocker(ctx context.Context, grantID string, now time.Time) (*devicemsg.GrantNew, error) {
	var (
		g *parcelguard.Grant
		x *parcelguard.Parcel
	)
	err := s.store.View(ctx, func(tx parcelguard.Tx) (err error) {
		if g, err = tx.Grant(ctx, grantID); err != nil {
			return err
		}
		x, err = tx.Parcel(ctx, g.ParcelID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("grant %s for its locker: %w", grantID, err)
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
