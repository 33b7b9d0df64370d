package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/devicemsg"
)

// Keeping a locker in step with the cloud beyond single commands: the
// compartment → lock map when compartments are added to a site, and a full
// grant resync for a locker that was away longer than the command stream
// keeps commands.

// CommandRetention is how long the device channel keeps commands for a
// locker (the COMMANDS stream's age limit). A locker silent for longer may
// have missed some; it is resynced when it is heard from again.
const CommandRetention = 7 * 24 * time.Hour

// Markers in a config command's data: the map or grant list is built at
// send time, from the store as it is then.
const (
	dataCompartments = "_compartments"
	dataSyncGrants   = "_sync_grants"
)

// lockerMap numbers a site's compartments on its lock board, stably: the
// compartments the site had when its locker was provisioned take locks 1..n
// by label (as the provisioning file has them), and those added later the
// next locks in the order they were added (their ids sort by creation
// time). A removed compartment keeps its lock, so no door is renumbered.
func lockerMap(comps []*parcelguard.Compartment, provisionedAt time.Time) []LockerCompartment {
	var orig, later []*parcelguard.Compartment
	for _, c := range comps {
		if at, ok := idTime(c.ID); ok && at.After(provisionedAt.Truncate(time.Millisecond)) {
			later = append(later, c)
		} else {
			orig = append(orig, c)
		}
	}
	slices.SortFunc(orig, func(a, b *parcelguard.Compartment) int {
		if c := strings.Compare(a.Label, b.Label); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	slices.SortFunc(later, func(a, b *parcelguard.Compartment) int { return strings.Compare(a.ID, b.ID) })
	out := make([]LockerCompartment, 0, len(comps))
	for i, c := range append(orig, later...) {
		out = append(out, LockerCompartment{ID: c.ID, Label: c.Label, Lock: i + 1})
	}
	return out
}

// LockerMap returns the compartment → lock map of a site's locker.
func (s *Service) LockerMap(ctx context.Context, siteID string) ([]LockerCompartment, error) {
	var out []LockerCompartment
	err := s.store.View(ctx, func(tx parcelguard.Tx) error {
		l, err := tx.Locker(ctx, siteID)
		if err != nil {
			return err
		}
		comps, err := tx.Compartments(ctx, siteID)
		if err != nil {
			return err
		}
		out = lockerMap(comps, l.ProvisionedAt)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("locker map of %s: %w", siteID, err)
	}
	return out, nil
}

// SyncLockerCompartments queues, for every locker whose site gained
// compartments since it was provisioned, a config command with the whole
// compartment → lock map. It is idempotent (the command's key is the map's
// hash), so it can run on a timer; it returns how many commands it queued.
//
// AddCompartment queues the map with the compartment, so this is only a
// sweep for maps that could not be (a compartment added in the moment its
// locker was provisioned, or by a release before AddCompartment did): it
// reads every compartment of every locker, so it runs seldom.
//
// It looks on a reader first and takes the single writer only for maps
// it has not queued before: on a timer, a scan of every compartment
// inside a write transaction would stall every deposit behind it.
func (s *Service) SyncLockerCompartments(ctx context.Context) (int, error) {
	var due []string // sites whose map is new to this process
	err := s.store.View(ctx, func(tx parcelguard.Tx) error {
		due = due[:0]
		return s.eachGrownLocker(ctx, tx, func(l *parcelguard.Locker, _ []LockerCompartment, key string) error {
			if _, done := s.syncedMaps.Load(key); !done {
				due = append(due, l.SiteID)
			}
			return nil
		})
	})
	if err != nil {
		return 0, fmt.Errorf("sync locker compartments: %w", err)
	}
	if len(due) == 0 {
		return 0, nil
	}
	n := 0
	var queued []string
	err = s.update(ctx, func(tx parcelguard.Tx) error {
		n, queued = 0, queued[:0]
		return s.eachGrownLocker(ctx, tx, func(l *parcelguard.Locker, m []LockerCompartment, key string) error {
			if !slices.Contains(due, l.SiteID) {
				return nil
			}
			fresh, err := s.queueLockerMap(ctx, tx, l, m, key)
			if err != nil {
				return err
			}
			queued = append(queued, key)
			if fresh {
				n++
			}
			return nil
		})
	})
	if err != nil {
		return 0, fmt.Errorf("sync locker compartments: %w", err)
	}
	for _, key := range queued {
		s.syncedMaps.Store(key, struct{}{})
	}
	return n, nil
}

// queueLockerMap queues, in tx, the config command that sends a locker
// its compartment map m under key, and reports whether it was new.
func (s *Service) queueLockerMap(ctx context.Context, tx parcelguard.Tx, l *parcelguard.Locker, m []LockerCompartment, key string) (fresh bool, err error) {
	now := s.clock.Now()
	fresh, err = tx.EnqueueDeviceCommand(ctx, &parcelguard.DeviceCommand{ID: parcelguard.NewID("cmd", now), IdempotencyKey: key,
		SiteID: l.SiteID, Kind: parcelguard.DeviceConfig, Data: map[string]string{dataCompartments: "1"}, DueAt: now, CreatedAt: now})
	if err != nil || !fresh {
		return false, err
	}
	return true, s.appendEvent(ctx, tx, parcelguard.System, &parcelguard.Event{Kind: parcelguard.EventLockerConfigured,
		SiteID: l.SiteID, Data: map[string]string{"compartments": strconv.Itoa(len(m))}})
}

// queueGrownMap queues, in tx, the compartment map of siteID's locker
// after a compartment was added to it, returning the map's command key,
// or "" when the site has no locker yet (provisioning will carry the
// compartment).
func (s *Service) queueGrownMap(ctx context.Context, tx parcelguard.Tx, siteID string) (string, error) {
	l, err := tx.Locker(ctx, siteID)
	if errors.Is(err, parcelguard.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	comps, err := tx.Compartments(ctx, siteID)
	if err != nil {
		return "", err
	}
	m := lockerMap(comps, l.ProvisionedAt)
	key := lockerMapKey(l, m)
	if _, err := s.queueLockerMap(ctx, tx, l, m, key); err != nil {
		return "", err
	}
	return key, nil
}

// lockerMapKey is the command key of a locker's map: its hash, so that a
// map is queued once however often it is looked at.
func lockerMapKey(l *parcelguard.Locker, m []LockerCompartment) string {
	h := sha256.New()
	fmt.Fprintf(h, "%d|", l.ProvisionedAt.UnixNano())
	for _, c := range m {
		fmt.Fprintf(h, "%s=%d|", c.ID, c.Lock)
	}
	return "compartments:" + l.SiteID + ":" + hex.EncodeToString(h.Sum(nil)[:12])
}

// eachGrownLocker calls fn for every locker whose site gained
// compartments after it was provisioned, with its map and the map's
// command key.
func (s *Service) eachGrownLocker(ctx context.Context, tx parcelguard.Tx, fn func(l *parcelguard.Locker, m []LockerCompartment, key string) error) error {
	lockers, err := tx.Lockers(ctx)
	if err != nil {
		return err
	}
	for _, l := range lockers {
		comps, err := tx.Compartments(ctx, l.SiteID)
		if err != nil {
			return err
		}
		grown := false
		for _, c := range comps {
			if at, ok := idTime(c.ID); ok && at.After(l.ProvisionedAt.Truncate(time.Millisecond)) {
				grown = true
			}
		}
		if !grown {
			continue
		}
		m := lockerMap(comps, l.ProvisionedAt)
		if err := fn(l, m, lockerMapKey(l, m)); err != nil {
			return err
		}
	}
	return nil
}

// activeSiteGrants returns the grants a site's locker should hold: the
// active pickup grants of parcels deposited there and the active deposit
// grants of parcels reserved there.
func activeSiteGrants(ctx context.Context, tx parcelguard.Tx, siteID string) ([]*parcelguard.Grant, error) {
	var out []*parcelguard.Grant
	for _, st := range []parcelguard.ParcelState{parcelguard.ParcelDeposited, parcelguard.ParcelReserved} {
		parcels, err := tx.Parcels(ctx, parcelguard.ParcelFilter{SiteID: siteID, State: st})
		if err != nil {
			return nil, err
		}
		for _, x := range parcels {
			grants, err := tx.GrantsOfParcel(ctx, x.ID)
			if err != nil {
				return nil, err
			}
			for _, g := range grants {
				if g.State == parcelguard.GrantActive && g.SiteID == siteID {
					out = append(out, g)
				}
			}
		}
	}
	return out, nil
}

// resyncLocker queues, in tx, every grant the site's locker should hold
// (grant.new is idempotent at the locker) followed by a config command
// listing them, so the locker also ends the grants whose revokes it
// missed. cause names why, for the command keys.
func (s *Service) resyncLocker(ctx context.Context, tx parcelguard.Tx, siteID, cause string) error {
	grants, err := activeSiteGrants(ctx, tx, siteID)
	if err != nil {
		return err
	}
	for _, g := range grants {
		if _, err := s.enqueueDeviceCommand(ctx, tx, siteID, parcelguard.DeviceGrantNew, g.ID, "grant.new:"+g.ID+":"+cause, nil); err != nil {
			return err
		}
	}
	_, err = s.enqueueDeviceCommand(ctx, tx, siteID, parcelguard.DeviceConfig, "", "sync:"+siteID+":"+cause,
		map[string]string{dataSyncGrants: "1"})
	return err
}

// buildConfig turns a config command's data into its payload: settings as
// they are, and the markers into the compartment map or grant list as the
// store has them now.
func (s *Service) buildConfig(ctx context.Context, c *parcelguard.DeviceCommand) (*devicemsg.Config, error) {
	out := &devicemsg.Config{Settings: map[string]string{}}
	for k, v := range c.Data {
		if k != dataCompartments && k != dataSyncGrants {
			out.Settings[k] = v
		}
	}
	if c.Data[dataCompartments] != "" {
		m, err := s.LockerMap(ctx, c.SiteID)
		if err != nil {
			return nil, err
		}
		for _, lc := range m {
			out.Compartments = append(out.Compartments, devicemsg.CompartmentLock{ID: lc.ID, Label: lc.Label, Lock: lc.Lock})
		}
	}
	if c.Data[dataSyncGrants] != "" {
		out.Sync = &devicemsg.GrantSync{Active: []string{}}
		err := s.store.View(ctx, func(tx parcelguard.Tx) error {
			grants, err := activeSiteGrants(ctx, tx, c.SiteID)
			for _, g := range grants {
				out.Sync.Active = append(out.Sync.Active, g.ID)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// idTime reads the creation time (to the millisecond) from an id made by
// parcelguard.NewID: its first ten base32 characters after the prefix are
// the 48-bit millisecond timestamp.
func idTime(id string) (time.Time, bool) {
	_, body, ok := strings.Cut(id, "_")
	if !ok || len(body) != 26 {
		return time.Time{}, false
	}
	var ms uint64
	for i := range 10 {
		d := strings.IndexByte("0123456789abcdefghjkmnpqrstvwxyz", body[i])
		if d < 0 {
			return time.Time{}, false
		}
		ms = ms<<5 | uint64(d)
	}
	return time.UnixMilli(int64(ms)), true
}
