package sim_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/notify"
	"github.com/parcelguard/parcelguard/sim"
)

// auditor is a plug-in actor: it hears every notification and, once a
// simulated day, reads a site through the service.
type auditor struct {
	heard, visits atomic.Int64
	site          string
}

func (a *auditor) Name() string { return "auditor" }

func (a *auditor) Start(ctx context.Context, w *sim.World) error {
	a.site = w.SiteIDs()[0]
	w.Schedule(w.Now().Add(24*time.Hour), a.visit)
	return nil
}

func (a *auditor) visit(ctx context.Context, w *sim.World) {
	a.visits.Add(1)
	op := parcelguard.Principal{Role: parcelguard.RoleOperator}
	if _, err := w.Service().Site(ctx, op, a.site); err != nil {
		w.Unexpected("auditor reads a site", err)
	}
	w.Schedule(w.Now().Add(24*time.Hour), a.visit)
}

func (a *auditor) OnMessage(_ context.Context, _ *sim.World, r *notify.Rendered) {
	if r.IdempotencyKey != "" {
		a.heard.Add(1)
	}
}

// Ensure further actors plug in: they are started, their actions run on
// the simulated clock, and a MessageListener hears every notification.
func TestPluginActor(t *testing.T) {
	cfg, err := sim.Preset("small")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Sites, cfg.Parcels, cfg.Attackers = 1, 20, 0
	a := &auditor{}
	s, err := sim.Run(context.Background(), cfg, sim.Options{Store: openStore(t), Actors: []sim.Actor{a}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if got := a.heard.Load(); got != s.Notifications || got == 0 {
		t.Errorf("listener heard %d notifications, the run delivered %d", got, s.Notifications)
	}
	if days := int64(cfg.Duration() / (24 * time.Hour)); a.visits.Load() != days {
		t.Errorf("daily actor ran %d times in %v, want %d", a.visits.Load(), cfg.Duration(), days)
	}
}
