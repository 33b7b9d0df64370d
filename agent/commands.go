package agent

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/devicemsg"
	pgnats "github.com/parcelguard/parcelguard/nats"
)

// ErrRefused wraps every reason a command is refused for good (forged,
// another locker's, expired, replayed, unknown compartment or setting).
var ErrRefused = errors.New("command refused")

// HandleCommand verifies one signed command and carries it out. Errors
// wrapping ErrRefused (and pgnats.ErrReject, so the channel drops the
// message) mean the command can never be accepted; other errors are worth
// a redelivery.
func (a *Agent) HandleCommand(ctx context.Context, sc devicemsg.SignedCommand) error {
	cmd, err := a.verifier.Verify(ctx, sc)
	if err != nil {
		var malformed = errors.Is(err, devicemsg.ErrMalformed)
		for _, e := range []error{devicemsg.ErrUnknownKey, devicemsg.ErrSignature, devicemsg.ErrAudience, devicemsg.ErrExpired,
			devicemsg.ErrNotYetValid, devicemsg.ErrReplay} {
			malformed = malformed || errors.Is(err, e)
		}
		if malformed {
			a.log.Warn("command refused", "err", err)
			return errors.Join(ErrRefused, pgnats.ErrReject, err)
		}
		return err // the nonce store failed: try again
	}
	if err := a.apply(ctx, cmd); err != nil {
		if errors.Is(err, ErrRefused) {
			a.log.Warn("command refused", "command", cmd.ID, "kind", cmd.Kind, "err", err)
			return errors.Join(pgnats.ErrReject, err)
		}
		return err
	}
	a.log.Info("command applied", "command", cmd.ID, "kind", cmd.Kind)
	return nil
}

func (a *Agent) apply(ctx context.Context, cmd devicemsg.Command) error {
	switch cmd.Kind {
	case devicemsg.CommandGrantNew:
		return a.grantNew(ctx, cmd.GrantNew)
	case devicemsg.CommandGrantRevoke:
		return a.grantRevoke(ctx, cmd.GrantRevoke)
	case devicemsg.CommandDoorOpen:
		lock, ok := a.lockOf(cmd.DoorOpen.Compartment)
		if !ok {
			return fmt.Errorf("%w: door.open of unknown compartment %s", ErrRefused, cmd.DoorOpen.Compartment)
		}
		// The door monitor ties the opening to the command, so it is not
		// reported as forced.
		return a.monitor.Unlock(ctx, a.cfg.Driver, lock, "cmd:"+cmd.ID)
	default:
		return a.configure(ctx, cmd.Config)
	}
}

// grantNew stores a grant to verify offline. It is idempotent by grant id
// (a repeat may only move its expiry later), and a grant the locker already saw end (revoked before its grant.new
// arrived, or used) is not brought back.
func (a *Agent) grantNew(ctx context.Context, gn *devicemsg.GrantNew) error {
	if _, ok := a.compartment(gn.Compartment); !ok {
		return fmt.Errorf("%w: grant %s for unknown compartment %s", ErrRefused, gn.GrantID, gn.Compartment)
	}
	if _, err := a.keys.Hash(gn.KeyID, "", ""); err != nil {
		return fmt.Errorf("%w: grant %s under unknown key %s", ErrRefused, gn.GrantID, gn.KeyID)
	}
	return a.store.tx(ctx, func(tx *sql.Tx) error {
		if g, err := grant(ctx, tx, gn.GrantID); err == nil {
			// A grant seen before only ever gains time (the cloud extends
			// deadlines while a locker is down); an ended one stays ended.
			if (g.State == parcelguard.GrantActive || g.State == parcelguard.GrantLocked) && gn.ExpiresAt.After(g.ExpiresAt) {
				g.ExpiresAt = gn.ExpiresAt
				return putGrant(ctx, tx, g)
			}
			return nil
		} else if !errors.Is(err, parcelguard.ErrNotFound) {
			return err
		}
		if gn.Purpose == devicemsg.PurposePickup {
			// A pickup grant means the parcel is in its compartment: a
			// courier's deposit code for it must not open that door again
			// (the parcel went in through the courier API, say).
			if _, err := tx.ExecContext(ctx, `UPDATE grants SET state = 'revoked' WHERE parcel_id = ? AND purpose = 'deposit' AND state IN ('active', 'locked')`,
				gn.ParcelID); err != nil {
				return err
			}
		}
		return putGrant(ctx, tx, &parcelguard.Grant{ID: gn.GrantID, ParcelID: gn.ParcelID, CompartmentID: gn.Compartment,
			Purpose: parcelguard.GrantPurpose(gn.Purpose), State: parcelguard.GrantActive, KeyID: gn.KeyID,
			CodeHash: gn.CodeHash, PhoneHash: gn.PhoneHash, NotBefore: gn.NotBefore, ExpiresAt: gn.ExpiresAt})
	})
}

// grantRevoke ends a grant, or leaves a tombstone for one not seen yet.
func (a *Agent) grantRevoke(ctx context.Context, gr *devicemsg.GrantRevoke) error {
	return a.store.tx(ctx, func(tx *sql.Tx) error {
		g, err := grant(ctx, tx, gr.GrantID)
		switch {
		case errors.Is(err, parcelguard.ErrNotFound):
			g = &parcelguard.Grant{ID: gr.GrantID, State: parcelguard.GrantRevoked, Purpose: parcelguard.PurposePickup}
		case err != nil:
			return err
		default:
			g.End(parcelguard.GrantRevoked)
		}
		return putGrant(ctx, tx, g)
	})
}

// settingHeartbeat is the one setting the agent acts on.
const settingHeartbeat = devicemsg.SettingHeartbeat

func (a *Agent) configure(ctx context.Context, cfg *devicemsg.Config) error {
	for k, v := range cfg.Settings {
		if err := devicemsg.ValidateSetting(k, v); err != nil {
			return fmt.Errorf("%w: %w", ErrRefused, err)
		}
	}
	added, err := a.checkCompartments(cfg.Compartments)
	if err != nil {
		return err
	}
	err = a.store.tx(ctx, func(tx *sql.Tx) error {
		for k, v := range cfg.Settings {
			if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)`, k, v); err != nil {
				return err
			}
		}
		for _, c := range added {
			if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO compartments (id, label, lock) VALUES (?, ?, ?)`, c.ID, c.Label, c.Lock); err != nil {
				return err
			}
		}
		if cfg.Sync != nil {
			return syncGrants(ctx, tx, cfg.Sync.Active)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if v, ok := cfg.Settings[settingHeartbeat]; ok {
		n, _ := strconv.Atoi(v)
		a.mu.Lock()
		a.heartbeat = time.Duration(n) * time.Second
		a.mu.Unlock()
	}
	if len(added) > 0 {
		a.mapMu.Lock()
		for _, c := range added {
			a.byID[c.ID], a.byLock[c.Lock] = c, c
		}
		a.mapMu.Unlock()
		a.log.Info("compartments added", "count", len(added))
	}
	return nil
}

// checkCompartments returns the compartments of a new map that the locker
// does not know yet. A map that moves a known compartment to another lock,
// puts a new one on a lock in use or beyond the board is refused whole: a
// wrong map opens the wrong door.
func (a *Agent) checkCompartments(m []devicemsg.CompartmentLock) ([]Compartment, error) {
	a.mapMu.RLock()
	defer a.mapMu.RUnlock()
	var added []Compartment
	for _, c := range m {
		if old, ok := a.byID[c.ID]; ok {
			if old.Lock != c.Lock {
				return nil, fmt.Errorf("%w: compartment %s is on lock %d, not %d", ErrRefused, c.ID, old.Lock, c.Lock)
			}
			continue
		}
		if other, ok := a.byLock[c.Lock]; ok {
			return nil, fmt.Errorf("%w: lock %d is compartment %s's, not %s's", ErrRefused, c.Lock, other.ID, c.ID)
		}
		if c.Lock > a.cfg.Driver.Locks() {
			return nil, fmt.Errorf("%w: compartment %s on lock %d, but the board has %d", ErrRefused, c.ID, c.Lock, a.cfg.Driver.Locks())
		}
		added = append(added, Compartment{ID: c.ID, Label: c.Label, Lock: c.Lock})
	}
	return added, nil
}

// syncGrants ends every active grant the locker holds that the cloud's
// list of grants to hold does not name.
func syncGrants(ctx context.Context, tx *sql.Tx, active []string) error {
	keep := make(map[string]bool, len(active))
	for _, id := range active {
		keep[id] = true
	}
	rows, err := tx.QueryContext(ctx, `SELECT id FROM grants WHERE state IN ('active', 'locked')`)
	if err != nil {
		return err
	}
	var drop []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		if !keep[id] {
			drop = append(drop, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, id := range drop {
		if _, err := tx.ExecContext(ctx, `UPDATE grants SET state = 'revoked' WHERE id = ?`, id); err != nil {
			return err
		}
	}
	return nil
}
