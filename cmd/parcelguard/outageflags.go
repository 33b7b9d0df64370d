package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/service"
)

// outageFlags tune the outage sweep: how often it runs and how long a
// locker may stay silent before it is declared unreachable and the
// storage clocks of its parcels stop.
type outageFlags struct {
	interval, silence time.Duration
}

func (f *outageFlags) register(fs *flag.FlagSet) {
	fs.DurationVar(&f.interval, "outage-interval", time.Minute, "how often the outage sweep runs")
	fs.DurationVar(&f.silence, "unreachable-after", parcelguard.DefaultUnreachableAfter,
		"silence after which a locker counts as unreachable and its parcels' deadlines are held")
}

func (f *outageFlags) check() error {
	if f.interval <= 0 {
		return fmt.Errorf("--outage-interval %v: must be positive", f.interval)
	}
	if f.silence < time.Minute {
		return fmt.Errorf("--unreachable-after %v: must be at least 1m", f.silence)
	}
	return nil
}

// run runs the sweep with the flags' settings (zero flags, as
// in a config built without them, take the defaults).
func (f outageFlags) run(ctx context.Context, svc *service.Service) error {
	if f.interval <= 0 {
		f.interval = time.Minute
	}
	return svc.RunOutageSweep(ctx, f.interval, f.silence)
}
