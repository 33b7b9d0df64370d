package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/parcelguard/parcelguard"
)

// Reachability of a locker agent as the cloud sees it.
const (
	LockerNeverSeen   = "never_seen"
	LockerReachable   = "reachable"
	LockerUnreachable = "unreachable"
)

// LockerView is one provisioned locker in the operators' list: when it was
// provisioned, when it was last heard from, whether the outage sweep
// counts it reachable, whether it is out of service, and how many commands
// still wait to go out to it.
type LockerView struct {
	SiteID           string
	SiteName         string
	ProvisionedAt    time.Time
	LastSeenAt       time.Time
	Reachability     string
	UnreachableSince time.Time
	OutOfService     bool
	OutOfServiceNote string
	PendingCommands  int
}

// LockerOverview lists every provisioned locker with its last contact and
// reachability (operators and admins).
func (s *Service) LockerOverview(ctx context.Context, p parcelguard.Principal) ([]LockerView, error) {
	if err := require(p, parcelguard.RoleOperator); err != nil {
		return nil, err
	}
	var out []LockerView
	err := s.store.View(ctx, func(tx parcelguard.Tx) error {
		lockers, err := tx.Lockers(ctx)
		if err != nil {
			return err
		}
		statuses, err := tx.LockerStatuses(ctx)
		if err != nil {
			return err
		}
		bySite := make(map[string]*parcelguard.LockerStatus, len(statuses))
		for _, st := range statuses {
			bySite[st.SiteID] = st
		}
		out = make([]LockerView, 0, len(lockers))
		for _, l := range lockers {
			v := LockerView{SiteID: l.SiteID, ProvisionedAt: l.ProvisionedAt, LastSeenAt: l.LastSeenAt, Reachability: LockerNeverSeen}
			if site, err := tx.Site(ctx, l.SiteID); err == nil {
				v.SiteName = site.Name
			} else if !errors.Is(err, parcelguard.ErrNotFound) {
				return err
			}
			if !v.LastSeenAt.IsZero() {
				v.Reachability = LockerReachable
			}
			if st := bySite[l.SiteID]; st != nil {
				if st.LastSeen.After(v.LastSeenAt) {
					v.LastSeenAt = st.LastSeen
				}
				if st.Unreachable {
					v.Reachability, v.UnreachableSince = LockerUnreachable, st.UnreachableSince
				} else if !st.LastSeen.IsZero() {
					v.Reachability = LockerReachable
				}
				v.OutOfService, v.OutOfServiceNote = st.OutOfService, st.OutOfServiceNote
			}
			pending, err := tx.DeviceCommands(ctx, parcelguard.DeviceCommandFilter{SiteID: l.SiteID, State: parcelguard.DeviceCommandPending})
			if err != nil {
				return err
			}
			v.PendingCommands = len(pending)
			out = append(out, v)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("locker overview: %w", err)
	}
	return out, nil
}
