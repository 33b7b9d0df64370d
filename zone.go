package parcelguard

import (
	"sync"
	"time"
)

// zones caches loaded time zones by name: time.LoadLocation reads and
// parses the zone database on every call, and deadlines and delivery dates
// ask for a zone on every deposit, pickup and message.
var zones sync.Map // name → *time.Location

// loadLocation is time.LoadLocation with a cache of the zones found.
func loadLocation(name string) (*time.Location, error) {
	if loc, ok := zones.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	zones.Store(name, loc)
	return loc, nil
}
