package agent_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/agent"
	"github.com/parcelguard/parcelguard/devicemsg"
	"github.com/parcelguard/parcelguard/lockhw"
)

// recorder is a video system that bookmarks while up and fails while down.
type recorder struct {
	mu     sync.Mutex
	down   bool
	labels []string
}

func (r *recorder) Bookmark(_ context.Context, cameraID, label string, _ time.Time, eventID string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.down {
		return "", errors.New("camera unreachable")
	}
	r.labels = append(r.labels, cameraID+"/"+label)
	return "bm-" + eventID, nil
}

// Ensure each door alarm is bookmarked with the camera's id on the event,
// and flagged unrecorded while the camera is down (SECURITY.md 17).
func TestCameraBookmarks(t *testing.T) {
	ctx := context.Background()
	clock := parcelguard.NewManualClock(time.Now().UTC())
	prov := &agent.Provisioning{SiteID: "site_cam", CodeKeyID: "k1", CodeKeys: map[string][]byte{"k1": make([]byte, 32)},
		PublicKeys: map[string][]byte{"k1": make([]byte, 32)}, Compartments: []agent.Compartment{{ID: "cmp_a", Label: "A1", Lock: 1}, {ID: "cmp_b", Label: "A2", Lock: 2}}}
	sim := lockhw.NewSim(2, clock)
	cam := &recorder{}
	path := filepath.Join(t.TempDir(), "agent.db")
	a, err := agent.New(ctx, agent.Config{Provisioning: prov, Path: path, Driver: sim, Clock: clock,
		Camera: cam, CameraID: "front", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.PollDoors(ctx); err != nil {
		t.Fatal(err)
	}
	_ = sim.Force(1)
	if err := a.PollDoors(ctx); err != nil {
		t.Fatal(err)
	}
	cam.mu.Lock()
	cam.down = true
	cam.mu.Unlock()
	_ = sim.Force(2)
	if err := a.PollDoors(ctx); err != nil {
		t.Fatal(err)
	}
	evs, err := a.Pending(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var forced []devicemsg.Event
	for _, ev := range evs {
		if ev.Kind == devicemsg.AlarmForcedOpen {
			forced = append(forced, ev)
		}
	}
	if len(forced) != 2 {
		t.Fatalf("forced-open alarms %+v, want 2", evs)
	}
	if got := forced[0].Data["bookmark"]; got != "bm-"+forced[0].ID || forced[0].Data["priority"] != "critical" || forced[0].Compartment != "cmp_a" {
		t.Errorf("first alarm %+v, want bookmarked, critical, cmp_a", forced[0])
	}
	if forced[1].Data["unrecorded"] != "true" || forced[1].Data["bookmark"] != "" {
		t.Errorf("second alarm %+v, want unrecorded", forced[1])
	}
	if len(cam.labels) != 1 || cam.labels[0] != "front/alarm.forced_open A1" {
		t.Errorf("camera labels %v", cam.labels)
	}

	// The outbox is the locker's audit trail: editing an event breaks it.
	if n, err := a.VerifyChain(ctx); err != nil || n != len(evs) {
		t.Fatalf("chain: %d events, %v; want %d intact", n, err, len(evs))
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE outbox SET body = CAST(replace(CAST(body AS TEXT), 'critical', 'info') AS BLOB) WHERE seq = 1`); err != nil {
		t.Fatal(err)
	}
	if _, err := a.VerifyChain(ctx); !errors.Is(err, agent.ErrChainBroken) {
		t.Fatalf("edited chain: %v, want broken", err)
	}
}
