package sim_test

import (
	"context"
	"testing"

	"github.com/parcelguard/parcelguard/internal/pgtest"
	"github.com/parcelguard/parcelguard/postgres"
	"github.com/parcelguard/parcelguard/sim"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// Ensure the simulation holds on PostgreSQL too, where concurrent
// reservations at one site race on optimistic versions, and doorstep
// changes of one carrier on its audit chain.
func TestPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster")
	}
	url := pgtest.URL(t)
	db, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cfg, err := sim.Preset("small")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Sites, cfg.Parcels = 2, 120
	s, err := sim.Run(context.Background(), cfg, sim.Options{Store: db, Engine: "postgres", Actors: sim.PresetActors(cfg)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if s.Parcels.Deposited != int64(cfg.Parcels) || !s.Audit.OK || s.Attack.Opened != 0 {
		t.Errorf("parcels %+v, audit %+v, attack opened %d", s.Parcels, s.Audit, s.Attack.Opened)
	}
	if d := s.Doorstep; d == nil || d.Delivered == 0 || d.StillOpen != 0 {
		t.Errorf("doorstep %+v", d)
	}
	t.Logf("postgres: %d parcels in %.1f s, %d calls repeated after conflicts", s.Parcels.Arrived, s.Wall.RunSeconds, s.ConflictRetries)
}
