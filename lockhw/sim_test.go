package lockhw

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
)

var epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func status(t *testing.T, d Driver, lock int) Status {
	t.Helper()
	s, err := d.Status(context.Background(), lock)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSimDoorCycle(t *testing.T) {
	ctx := context.Background()
	sim := NewSim(4, parcelguard.NewManualClock(epoch))
	want := Status{Lock: 2, Locked: true, SensorOK: true}
	if got := status(t, sim, 2); got != want {
		t.Fatalf("initial %+v, want %+v", got, want)
	}
	if err := sim.PersonOpens(2); !errors.Is(err, ErrDoorLocked) {
		t.Fatalf("opening a locked door: %v", err)
	}
	if err := sim.Open(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if got := status(t, sim, 2); got.Locked || got.DoorOpen {
		t.Fatalf("after unlock %+v, want released and closed", got)
	}
	if err := sim.PersonOpens(2); err != nil {
		t.Fatal(err)
	}
	if got := status(t, sim, 2); !got.DoorOpen {
		t.Fatalf("after person opens %+v", got)
	}
	if err := sim.CloseDoor(2); err != nil {
		t.Fatal(err)
	}
	if got := status(t, sim, 2); got != want {
		t.Fatalf("after close %+v, want %+v", got, want)
	}
}

func TestSimFaults(t *testing.T) {
	ctx := context.Background()
	clock := parcelguard.NewManualClock(epoch)
	sim := NewSim(3, clock)

	// Forced: the door opens, the bolt still reads engaged.
	sim.Force(1)
	if got := status(t, sim, 1); !got.DoorOpen || !got.Locked {
		t.Fatalf("forced %+v", got)
	}

	// Jammed: Open fails, the bolt stays.
	sim.Jam(2)
	if err := sim.Open(ctx, 2); !errors.Is(err, ErrJammed) {
		t.Fatalf("jammed open: %v", err)
	}
	if !sim.BoltEngaged(2) {
		t.Fatal("jammed bolt released")
	}
	sim.Unjam(2)
	if err := sim.Open(ctx, 2); err != nil {
		t.Fatal(err)
	}

	// Faulty sensor: stuck closed, yet the lock opens.
	sim.SetSensorFault(3, true)
	if err := sim.Open(ctx, 3); err != nil {
		t.Fatal(err)
	}
	sim.PersonOpens(3)
	got := status(t, sim, 3)
	if got.SensorOK || got.DoorOpen || got.Locked || !sim.DoorIsOpen(3) {
		t.Fatalf("faulty sensor %+v", got)
	}
	sim.SetTamper(3, true)
	if !status(t, sim, 3).Tamper {
		t.Fatal("tamper not reported")
	}
}

func TestSimAutoOpenAndRelock(t *testing.T) {
	ctx := context.Background()
	clock := parcelguard.NewManualClock(epoch)
	sim := NewSim(2, clock)
	sim.SetAutoOpen(true)
	sim.Open(ctx, 1)
	if !status(t, sim, 1).DoorOpen {
		t.Fatal("auto open did not open")
	}
	sim.SetAutoOpen(false)
	sim.SetRelockAfter(5 * time.Second)
	sim.Open(ctx, 2)
	clock.Advance(4 * time.Second)
	if status(t, sim, 2).Locked {
		t.Fatal("relocked early")
	}
	clock.Advance(time.Second)
	if !status(t, sim, 2).Locked {
		t.Fatal("did not relock")
	}
}

func TestSimErrors(t *testing.T) {
	ctx := context.Background()
	sim := NewSim(2, parcelguard.NewManualClock(epoch))
	for _, lock := range []int{0, 3, -1} {
		if err := sim.Open(ctx, lock); !errors.Is(err, ErrNoSuchLock) {
			t.Errorf("Open(%d): %v", lock, err)
		}
	}
	if parcelguard.ErrorCode(sim.Open(ctx, 9)) != parcelguard.EINVALID {
		t.Error("no such lock is not EINVALID")
	}
	all, err := sim.Statuses(ctx)
	if err != nil || len(all) != 2 || all[1].Lock != 2 {
		t.Fatalf("Statuses = %+v, %v", all, err)
	}
	sim.Close()
	if _, err := sim.Statuses(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
}
