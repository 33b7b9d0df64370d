package parcelguard

import "time"

// Site is a locker location: one physical locker bank with its compartments.
type Site struct {
	ID       string
	Name     string
	Address  string
	Lat, Lon float64
	// TimeZone is an IANA zone name; deadlines are shown in it.
	TimeZone string
	// OpeningHours is free text such as "24/7" or "Mo-Sa 06:00-22:00".
	OpeningHours string
	// StoragePeriod overrides the carrier's and the default storage period
	// for parcels deposited here; zero means no override.
	StoragePeriod time.Duration
	CreatedAt     time.Time
	// DecommissionedAt is when the site was taken out of the network; zero
	// while it serves. A decommissioned site keeps its history but takes no
	// new parcels and is found by no search.
	DecommissionedAt time.Time
	// Version counts saves, for optimistic concurrency (1 when created).
	Version int64
}

// Decommissioned reports whether the site was taken out of the network.
func (s *Site) Decommissioned() bool { return !s.DecommissionedAt.IsZero() }

// Location returns the site's time zone, falling back to UTC for an empty or
// unknown name (validation rejects unknown names on input).
func (s *Site) Location() *time.Location {
	if s.TimeZone == "" {
		return time.UTC
	}
	loc, err := loadLocation(s.TimeZone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// Validate reports every invalid field of a new site.
func (s *Site) Validate() error {
	var f []FieldError
	if s.Name == "" || len(s.Name) > 200 {
		f = append(f, FieldError{"name", "must be 1 to 200 characters"})
	}
	if s.Address == "" || len(s.Address) > 500 {
		f = append(f, FieldError{"address", "must be 1 to 500 characters"})
	}
	if s.Lat < -90 || s.Lat > 90 {
		f = append(f, FieldError{"lat", "must be between -90 and 90"})
	}
	if s.Lon < -180 || s.Lon > 180 {
		f = append(f, FieldError{"lon", "must be between -180 and 180"})
	}
	if s.TimeZone != "" {
		if _, err := loadLocation(s.TimeZone); err != nil {
			f = append(f, FieldError{"time_zone", "must be an IANA time zone such as Europe/Warsaw"})
		}
	}
	if len(s.OpeningHours) > 200 {
		f = append(f, FieldError{"opening_hours", "must be at most 200 characters"})
	}
	if s.StoragePeriod < 0 || s.StoragePeriod > MaxStoragePeriod {
		f = append(f, FieldError{"storage_period", "must be between 0 and 14 days"})
	}
	if len(f) > 0 {
		return Invalid(f...)
	}
	return nil
}
