package service

import (
	"context"
	"fmt"
	"strings"

	"github.com/parcelguard/parcelguard"
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
