package door

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/lockhw"
)

var epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// rig is a monitor watching a simulated locker; every step polls, as the
// agent's loop does, and collects the events.
type rig struct {
	t     *testing.T
	clock *parcelguard.ManualClock
	sim   *lockhw.Sim
	mon   *Monitor
	evs   []Event
	err   error // the last Unlock error
}

func newRig(t *testing.T) *rig {
	clock := parcelguard.NewManualClock(epoch)
	r := &rig{t: t, clock: clock, sim: lockhw.NewSim(4, clock), mon: NewMonitor(clock, Config{})}
	r.poll() // baseline
	return r
}

func (r *rig) poll() {
	r.t.Helper()
	evs, err := r.mon.Poll(context.Background(), r.sim)
	if err != nil && !errors.Is(err, lockhw.ErrClosed) {
		r.t.Fatalf("poll: %v", err)
	}
	r.evs = append(r.evs, evs...)
}

func (r *rig) unlock(lock int, grant string) {
	r.err = r.mon.Unlock(context.Background(), r.sim, lock, grant)
	r.poll()
}

func (r *rig) after(d time.Duration) {
	r.clock.Advance(d)
	r.poll()
}

// do runs a sim control and polls.
func (r *rig) do(err error) {
	r.t.Helper()
	if err != nil {
		r.t.Fatal(err)
	}
	r.poll()
}

// summary renders an event as "kind lock grant priority" for comparison.
func summary(e Event) string {
	return fmt.Sprintf("%s %d %q %s", e.Kind, e.Lock, e.GrantID, e.Priority)
}

func TestMonitorScenarios(t *testing.T) {
	tests := []struct {
		name  string
		run   func(r *rig)
		want  []string
		check func(t *testing.T, r *rig)
	}{
		{
			name: "unlock, person opens, closes",
			run: func(r *rig) {
				r.unlock(1, "g1")
				r.after(5 * time.Second)
				r.do(r.sim.PersonOpens(1))
				r.after(20 * time.Second)
				r.do(r.sim.CloseDoor(1))
				r.after(5 * time.Minute)
			},
			want: []string{`door.opened 1 "g1" info`, `door.closed 1 "g1" info`},
		},
		{
			name: "unlock, nobody comes",
			run: func(r *rig) {
				r.unlock(2, "g2")
				r.after(29 * time.Second)
				r.after(time.Second)
				r.after(time.Minute)
			},
			want: []string{`alarm.access_not_taken 2 "g2" low`},
		},
		{
			name: "opened just in time",
			run: func(r *rig) {
				r.unlock(2, "g2")
				r.clock.Advance(29 * time.Second)
				r.do(r.sim.PersonOpens(2))
			},
			want: []string{`door.opened 2 "g2" info`},
		},
		{
			name: "opened too late is not the authorised opening",
			run: func(r *rig) {
				r.unlock(2, "g2")
				r.clock.Advance(31 * time.Second)
				r.do(r.sim.PersonOpens(2))
			},
			want: []string{`alarm.access_not_taken 2 "g2" low`, `alarm.forced_open 2 "" critical`},
		},
		{
			name: "forced open",
			run: func(r *rig) {
				r.after(time.Hour)
				r.do(r.sim.Force(3))
			},
			want: []string{`alarm.forced_open 3 "" critical`},
			check: func(t *testing.T, r *rig) {
				if !strings.Contains(r.evs[0].Detail, "bolt is engaged") {
					t.Errorf("detail %q", r.evs[0].Detail)
				}
			},
		},
		{
			name: "reopened after closing without a new unlock",
			run: func(r *rig) {
				r.unlock(1, "g1")
				r.do(r.sim.PersonOpens(1))
				r.do(r.sim.CloseDoor(1))
				r.do(r.sim.Force(1))
			},
			want: []string{`door.opened 1 "g1" info`, `door.closed 1 "g1" info`, `alarm.forced_open 1 "" critical`},
		},
		{
			name: "open three minutes",
			run: func(r *rig) {
				r.unlock(1, "g1")
				r.do(r.sim.PersonOpens(1))
				for range 6 {
					r.after(30 * time.Second)
				}
				r.do(r.sim.CloseDoor(1))
			},
			want: []string{`door.opened 1 "g1" info`, `alarm.open_too_long 1 "g1" high`, `door.closed 1 "g1" info`},
		},
		{
			name: "sensor fault during unlock still unlocks",
			run: func(r *rig) {
				r.do(r.sim.SetSensorFault(4, true))
				r.unlock(4, "g4")
				r.do(r.sim.PersonOpens(4))
				r.after(time.Minute)
			},
			want: []string{`alarm.sensor_fault 4 "" high`},
			check: func(t *testing.T, r *rig) {
				if r.err != nil {
					t.Errorf("unlock: %v", r.err)
				}
				if r.sim.BoltEngaged(4) || !r.sim.DoorIsOpen(4) {
					t.Error("the authorised open did not go through")
				}
			},
		},
		{
			name: "sensor fails after the unlock",
			run: func(r *rig) {
				r.unlock(4, "g4")
				r.do(r.sim.SetSensorFault(4, true))
				r.after(time.Minute)
			},
			want: []string{`alarm.sensor_fault 4 "g4" high`},
		},
		{
			name: "sensor recovers with the authorised door open",
			run: func(r *rig) {
				r.do(r.sim.SetSensorFault(4, true))
				r.unlock(4, "g4")
				r.do(r.sim.PersonOpens(4))
				r.after(10 * time.Second)
				r.do(r.sim.SetSensorFault(4, false))
				r.do(r.sim.CloseDoor(4))
			},
			want: []string{`alarm.sensor_fault 4 "" high`, `door.sensor_restored 4 "" info`, `door.opened 4 "g4" info`, `door.closed 4 "g4" info`},
		},
		{
			name: "sensor recovers long after an unlock with the door shut",
			run: func(r *rig) {
				r.do(r.sim.SetSensorFault(4, true))
				r.unlock(4, "g4")
				r.after(time.Hour)
				r.do(r.sim.SetSensorFault(4, false))
				r.after(time.Hour)
			},
			want: []string{`alarm.sensor_fault 4 "" high`, `door.sensor_restored 4 "" info`},
		},
		{
			name: "tamper",
			run: func(r *rig) {
				r.do(r.sim.SetTamper(2, true))
				r.after(time.Minute)
				r.do(r.sim.SetTamper(2, false))
			},
			want: []string{`alarm.tamper 2 "" critical`, `door.tamper_cleared 2 "" info`},
		},
		{
			name: "jammed lock",
			run: func(r *rig) {
				r.do(r.sim.Jam(3))
				r.unlock(3, "g3")
				r.after(30 * time.Second)
			},
			want: []string{`alarm.access_not_taken 3 "g3" low`},
			check: func(t *testing.T, r *rig) {
				if !errors.Is(r.err, lockhw.ErrJammed) {
					t.Errorf("unlock err = %v, want ErrJammed", r.err)
				}
				if !strings.Contains(r.evs[0].Detail, "jammed") {
					t.Errorf("detail %q", r.evs[0].Detail)
				}
			},
		},
		{
			name: "unlock again replaces the authorisation",
			run: func(r *rig) {
				r.unlock(1, "g1")
				r.after(20 * time.Second)
				r.unlock(1, "g1-retry")
				r.after(20 * time.Second)
				r.do(r.sim.PersonOpens(1))
			},
			want: []string{`door.opened 1 "g1-retry" info`},
		},
		{
			name: "board stops answering",
			run: func(r *rig) {
				r.do(r.sim.Close())
				r.after(time.Minute)
			},
			want: []string{
				`alarm.sensor_fault 1 "" high`, `alarm.sensor_fault 2 "" high`,
				`alarm.sensor_fault 3 "" high`, `alarm.sensor_fault 4 "" high`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			tt.run(r)
			var got []string
			for _, e := range r.evs {
				got = append(got, summary(e))
				if e.Alarm() != (e.Priority > PriorityInfo) || e.At.IsZero() {
					t.Errorf("event %+v", e)
				}
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if tt.check != nil {
				tt.check(t, r)
			}
		})
	}
}

// TestMonitorStartsWithDoorOpen: a door found open at start-up is not
// called forced (it may be a pickup under way) but cannot stay open.
func TestMonitorStartsWithDoorOpen(t *testing.T) {
	clock := parcelguard.NewManualClock(epoch)
	sim := lockhw.NewSim(1, clock)
	sim.Force(1)
	mon := NewMonitor(clock, Config{OpenTooLong: time.Minute})
	evs, err := mon.Poll(context.Background(), sim)
	if err != nil || len(evs) != 0 {
		t.Fatalf("first poll: %v, %v", evs, err)
	}
	clock.Advance(time.Minute)
	evs = mon.Tick()
	if len(evs) != 1 || evs[0].Kind != OpenTooLong || evs[0].GrantID != "" {
		t.Fatalf("events %+v", evs)
	}
	if evs = mon.Tick(); len(evs) != 0 {
		t.Fatalf("open too long repeated: %+v", evs)
	}
}

// TestMonitorObserveEvents feeds readings directly, as an event-driven
// board would, with custom limits.
func TestMonitorObserveEvents(t *testing.T) {
	clock := parcelguard.NewManualClock(epoch)
	mon := NewMonitor(clock, Config{AccessTimeout: 5 * time.Second})
	closed := lockhw.Status{Lock: 7, Locked: true, SensorOK: true}
	open := lockhw.Status{Lock: 7, DoorOpen: true, SensorOK: true}
	mon.Observe(closed)
	if err := mon.Authorize(7, "remote:cmd1"); err != nil {
		t.Fatal(err)
	}
	clock.Advance(4 * time.Second)
	evs := mon.Observe(open)
	if len(evs) != 1 || evs[0].Kind != Opened || evs[0].GrantID != "remote:cmd1" || !evs[0].At.Equal(epoch.Add(4*time.Second)) {
		t.Fatalf("events %+v", evs)
	}
	if err := mon.Authorize(0, "x"); !errors.Is(err, lockhw.ErrNoSuchLock) {
		t.Fatalf("lock 0: %v", err)
	}
}

func TestPriorityString(t *testing.T) {
	for p, want := range map[Priority]string{PriorityInfo: "info", PriorityLow: "low", PriorityHigh: "high", PriorityCritical: "critical", 9: "unknown"} {
		if p.String() != want {
			t.Errorf("%d: %s", p, p.String())
		}
	}
}
