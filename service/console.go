package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/audit"
)

// SizeOccupancy counts a site's compartments of one size class by state.
type SizeOccupancy struct {
	Size                                    parcelguard.SizeClass
	Total, Free, InUse, Blocked, OutOfOrder int
}

// AlarmSeverity ranks what the overview counts: alarms (high), locked
// grants (medium) and failed pickup attempts (low, the hotspots).
type AlarmSeverity string

// Severities, most urgent first.
const (
	SeverityHigh   AlarmSeverity = "high"
	SeverityMedium AlarmSeverity = "medium"
	SeverityLow    AlarmSeverity = "low"
)

// Severities lists the severities most urgent first.
var Severities = []AlarmSeverity{SeverityHigh, SeverityMedium, SeverityLow}

// severityOf classifies an event kind for the overview; "" is no alarm.
func severityOf(k parcelguard.EventKind) AlarmSeverity {
	switch {
	case strings.HasPrefix(string(k), "alarm."):
		return SeverityHigh
	case k == parcelguard.EventGrantLocked:
		return SeverityMedium
	case k == parcelguard.EventPickupFailed:
		return SeverityLow
	}
	return ""
}

// SiteOverview is one site in the operator's overview.
type SiteOverview struct {
	Site      *parcelguard.Site
	Occupancy []SizeOccupancy
	// Alarms counts the site's recent alarm events by severity.
	Alarms map[AlarmSeverity]int
}

// overviewEvents bounds how far back per site the overview counts alarms.
const overviewEvents = 2000

// NetworkOverview returns every site with its occupancy by size class and
// its recent alarms by severity (the last overviewEvents events of its
// audit chain). Operators and admins only.
func (s *Service) NetworkOverview(ctx context.Context, p parcelguard.Principal) ([]SiteOverview, error) {
	if err := require(p, parcelguard.RoleOperator); err != nil {
		return nil, err
	}
	var out []SiteOverview
	err := s.store.View(ctx, func(tx parcelguard.Tx) error {
		out = nil
		sites, err := tx.Sites(ctx, parcelguard.SiteFilter{Limit: 1000})
		if err != nil {
			return err
		}
		for _, site := range sites {
			o := SiteOverview{Site: site, Alarms: map[AlarmSeverity]int{}}
			cs, err := tx.Compartments(ctx, site.ID)
			if err != nil {
				return err
			}
			for _, size := range parcelguard.SizeClasses {
				occ := SizeOccupancy{Size: size}
				for _, c := range cs {
					if c.Size != size {
						continue
					}
					occ.Total++
					switch c.State {
					case parcelguard.CompartmentFree:
						occ.Free++
					case parcelguard.CompartmentBlocked:
						occ.Blocked++
					case parcelguard.CompartmentOutOfOrder:
						occ.OutOfOrder++
					default:
						occ.InUse++
					}
				}
				if occ.Total > 0 {
					o.Occupancy = append(o.Occupancy, occ)
				}
			}
			stream := parcelguard.SiteStream(site.ID)
			head, _, err := tx.StreamHead(ctx, stream)
			if err != nil {
				return err
			}
			events, err := tx.Events(ctx, parcelguard.EventFilter{Stream: stream, AfterSeq: max(0, head-overviewEvents), Limit: overviewEvents})
			if err != nil {
				return err
			}
			for _, e := range events {
				if sev := severityOf(e.Kind); sev != "" {
					o.Alarms[sev]++
				}
			}
			out = append(out, o)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("network overview: %w", err)
	}
	return out, nil
}

// LockerStatus returns a site's outage state: out of service (since when,
// why) and reachability. A site never reported on has a zero status.
// Operators and admins only; an unknown site is ErrNotFound.
func (s *Service) LockerStatus(ctx context.Context, p parcelguard.Principal, siteID string) (*parcelguard.LockerStatus, error) {
	if err := require(p, parcelguard.RoleOperator); err != nil {
		return nil, err
	}
	var st *parcelguard.LockerStatus
	err := s.store.View(ctx, func(tx parcelguard.Tx) (err error) {
		if _, err = tx.Site(ctx, siteID); err != nil {
			return err
		}
		st, err = tx.LockerStatus(ctx, siteID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("locker status of %s: %w", siteID, err)
	}
	return st, nil
}

// MaxSiteEvents bounds how many of a site's latest events SiteEvents
// returns.
const MaxSiteEvents = 500

// SiteEvents returns the latest limit events (at most MaxSiteEvents) of a
// site's audit chain, newest first. Operators and admins only; an unknown
// site is ErrNotFound.
func (s *Service) SiteEvents(ctx context.Context, p parcelguard.Principal, siteID string, limit int) ([]*parcelguard.Event, error) {
	if err := require(p, parcelguard.RoleOperator); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > MaxSiteEvents {
		limit = MaxSiteEvents
	}
	var events []*parcelguard.Event
	stream := parcelguard.SiteStream(siteID)
	err := s.store.View(ctx, func(tx parcelguard.Tx) error {
		if _, err := tx.Site(ctx, siteID); err != nil {
			return err
		}
		head, _, err := tx.StreamHead(ctx, stream)
		if err != nil {
			return err
		}
		events, err = tx.Events(ctx, parcelguard.EventFilter{Stream: stream, AfterSeq: max(0, head-int64(limit)), Limit: limit})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("events of site %s: %w", siteID, err)
	}
	slices.Reverse(events)
	return events, nil
}

// DoorHotspot is a delivery address where doorstep attempts fail.
type DoorHotspot struct {
	Address string
	// Failures counts wrong passwords, far-away verifications and failed
	// attempts; Locked counts passwords locked after too many failures.
	Failures, Locked int
}

// hotspotEvents bounds how many recent events of each carrier's doorstep
// audit stream DoorHotspots counts.
const hotspotEvents = 5000

// DoorHotspots counts failed doorstep handovers per delivery address over
// the latest hotspotEvents events of each carrier's doorstep stream, most
// failures first. Operators and admins only.
func (s *Service) DoorHotspots(ctx context.Context, p parcelguard.Principal) ([]DoorHotspot, error) {
	if err := require(p, parcelguard.RoleOperator); err != nil {
		return nil, err
	}
	doors := map[string]*DoorHotspot{}
	err := s.store.View(ctx, func(tx parcelguard.Tx) error {
		clear(doors)
		streams, err := tx.Streams(ctx)
		if err != nil {
			return err
		}
		byParcel := map[string]string{}
		for _, stream := range streams {
			if !strings.HasPrefix(stream, parcelguard.CarrierStream("")) {
				continue
			}
			head, _, err := tx.StreamHead(ctx, stream)
			if err != nil {
				return err
			}
			events, err := tx.Events(ctx, parcelguard.EventFilter{Stream: stream, AfterSeq: max(0, head-hotspotEvents), Limit: hotspotEvents})
			if err != nil {
				return err
			}
			for _, e := range events {
				failed := e.Kind == parcelguard.EventDoorstepVerifyFailed || e.Kind == parcelguard.EventDoorstepPositionFar ||
					e.Kind == parcelguard.EventDoorstepAttemptFailed
				if (!failed && e.Kind != parcelguard.EventDoorstepLocked) || e.ParcelID == "" {
					continue
				}
				addr, ok := byParcel[e.ParcelID]
				if !ok {
					d, err := tx.Doorstep(ctx, e.ParcelID)
					if err != nil && !errors.Is(err, parcelguard.ErrNotFound) {
						return err
					}
					if d != nil {
						addr = d.Address
					}
					byParcel[e.ParcelID] = addr
				}
				if addr == "" {
					continue
				}
				hs := doors[addr]
				if hs == nil {
					hs = &DoorHotspot{Address: addr}
					doors[addr] = hs
				}
				if failed {
					hs.Failures++
				} else {
					hs.Locked++
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("door hotspots: %w", err)
	}
	out := make([]DoorHotspot, 0, len(doors))
	for _, hs := range doors {
		out = append(out, *hs)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Failures+a.Locked != b.Failures+b.Locked {
			return a.Failures+a.Locked > b.Failures+b.Locked
		}
		return a.Address < b.Address
	})
	return out, nil
}

// VerifyAudit walks every audit chain of the store and reports the first
// broken link of each. It changes nothing but reads everything, so only
// operators and admins may ask.
func (s *Service) VerifyAudit(ctx context.Context, p parcelguard.Principal) (*audit.Report, error) {
	if err := require(p, parcelguard.RoleOperator); err != nil {
		return nil, err
	}
	rep, err := audit.Verify(ctx, s.store)
	if err != nil {
		return nil, fmt.Errorf("verify audit: %w", err)
	}
	return rep, nil
}
