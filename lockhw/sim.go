package lockhw

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/parcelguard/parcelguard"
)

// ErrDoorLocked is returned by Sim.PersonOpens when the bolt is engaged: a
// person cannot open a locked door, only force it (Sim.Force).
var ErrDoorLocked = errors.New("lockhw: sim: door is locked")

// Sim is a simulated lock board with deterministic controls for tests.
//
// It models the spring-hook locks of parcel lockers: Open releases the
// bolt, the bolt stays released until the door has been opened and closed
// again (closing re-engages it), and a forced door is open while the bolt
// still reads engaged. A person opens a released door only when told to
// (PersonOpens) or, with SetAutoOpen, right after every Open.
//
// Sim is safe for concurrent use.
type Sim struct {
	clock parcelguard.Clock

	mu          sync.Mutex
	locks       []simLock
	autoOpen    bool
	relockAfter time.Duration
	closed      bool
}

type simLock struct {
	released   bool // the bolt is pulled back
	releasedAt time.Time
	doorOpen   bool // the door's true position
	jammed     bool
	fault      bool // the door sensor is stuck at stuckOpen
	stuckOpen  bool
	tamper     bool
}

// NewSim returns a simulator of n locks, all closed and locked, reading the
// time from clock.
func NewSim(n int, clock parcelguard.Clock) *Sim {
	return &Sim{clock: clock, locks: make([]simLock, n)}
}

// Locks returns the number of simulated locks.
func (s *Sim) Locks() int { return len(s.locks) }

// Open releases lock's bolt, unless it is jammed. With SetAutoOpen a person
// then opens the door at once. The door sensor plays no part, as on a real
// board.
func (s *Sim) Open(ctx context.Context, lock int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l, err := s.lock(lock)
	if err != nil {
		return err
	}
	if l.jammed {
		return fmtErr(ErrJammed, "sim: lock %d", lock)
	}
	l.released, l.releasedAt = true, s.clock.Now()
	if s.autoOpen {
		l.doorOpen = true
	}
	return nil
}

// Status reads one lock's sensors.
func (s *Sim) Status(ctx context.Context, lock int) (Status, error) {
	if err := ctx.Err(); err != nil {
		return Status{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l, err := s.lock(lock)
	if err != nil {
		return Status{}, err
	}
	return s.status(lock, l), nil
}

// Statuses reads every lock's sensors.
func (s *Sim) Statuses(ctx context.Context) ([]Status, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmtErr(ErrClosed, "sim")
	}
	out := make([]Status, len(s.locks))
	for i := range s.locks {
		out[i] = s.status(i+1, &s.locks[i])
	}
	return out, nil
}

// Close makes every later driver call fail with ErrClosed.
func (s *Sim) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return nil
}

// SetAutoOpen makes a person open each door right after it is unlocked,
// for demos and tests that do not care about the gap.
func (s *Sim) SetAutoOpen(on bool) {
	s.mu.Lock()
	s.autoOpen = on
	s.mu.Unlock()
}

// SetRelockAfter makes a released bolt re-engage when its door has not been
// opened within d, like boards that pulse a solenoid only briefly. Zero (the
// default) keeps it released until the door has been opened and closed.
func (s *Sim) SetRelockAfter(d time.Duration) {
	s.mu.Lock()
	s.relockAfter = d
	s.mu.Unlock()
}

// PersonOpens opens lock's door as a person would: only when the bolt is
// released, else it returns ErrDoorLocked.
func (s *Sim) PersonOpens(lock int) error {
	return s.control(lock, func(l *simLock) error {
		if !l.released {
			return ErrDoorLocked
		}
		l.doorOpen = true
		return nil
	})
}

// CloseDoor closes lock's door, which re-engages a released bolt.
func (s *Sim) CloseDoor(lock int) error {
	return s.control(lock, func(l *simLock) error {
		l.doorOpen, l.released = false, false
		return nil
	})
}

// Force opens lock's door without unlocking it; the bolt still reads
// engaged, as a bent hook or a prised door would.
func (s *Sim) Force(lock int) error {
	return s.control(lock, func(l *simLock) error {
		l.doorOpen = true
		return nil
	})
}

// Jam makes Open fail with ErrJammed and leave the bolt engaged, until Unjam.
func (s *Sim) Jam(lock int) error {
	return s.control(lock, func(l *simLock) error { l.jammed = true; return nil })
}

// Unjam repairs a jammed lock.
func (s *Sim) Unjam(lock int) error {
	return s.control(lock, func(l *simLock) error { l.jammed = false; return nil })
}

// SetSensorFault breaks (or repairs) lock's door sensor. A broken sensor is
// stuck at the reading it had when it broke and reports SensorOK false;
// the lock itself keeps working.
func (s *Sim) SetSensorFault(lock int, fault bool) error {
	return s.control(lock, func(l *simLock) error {
		if fault && !l.fault {
			l.stuckOpen = l.doorOpen
		}
		l.fault = fault
		return nil
	})
}

// SetTamper sets lock's tamper input.
func (s *Sim) SetTamper(lock int, on bool) error {
	return s.control(lock, func(l *simLock) error { l.tamper = on; return nil })
}

// BoltEngaged reports the true state of lock's bolt, whatever the sensors
// say; tests use it to check that an open went through.
func (s *Sim) BoltEngaged(lock int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if lock < 1 || lock > len(s.locks) {
		return false
	}
	l := &s.locks[lock-1]
	s.settle(l)
	return !l.released
}

// DoorIsOpen reports the true position of lock's door, whatever the sensor
// says.
func (s *Sim) DoorIsOpen(lock int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if lock < 1 || lock > len(s.locks) {
		return false
	}
	return s.locks[lock-1].doorOpen
}

// control runs f on lock under the mutex. Controls work after Close so a
// test can still move doors of a "disconnected" board.
func (s *Sim) control(lock int, f func(*simLock) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := checkLock(lock, len(s.locks)); err != nil {
		return err
	}
	l := &s.locks[lock-1]
	s.settle(l)
	return f(l)
}

// lock returns lock's state for a driver call.
func (s *Sim) lock(lock int) (*simLock, error) {
	if s.closed {
		return nil, fmtErr(ErrClosed, "sim")
	}
	if err := checkLock(lock, len(s.locks)); err != nil {
		return nil, err
	}
	l := &s.locks[lock-1]
	s.settle(l)
	return l, nil
}

// settle applies the passage of time: a released bolt whose door was never
// opened re-engages after relockAfter.
func (s *Sim) settle(l *simLock) {
	if s.relockAfter > 0 && l.released && !l.doorOpen &&
		!s.clock.Now().Before(l.releasedAt.Add(s.relockAfter)) {
		l.released = false
	}
}

func (s *Sim) status(lock int, l *simLock) Status {
	open := l.doorOpen
	if l.fault {
		open = l.stuckOpen
	}
	return Status{Lock: lock, Locked: !l.released, DoorOpen: open, SensorOK: !l.fault, Tamper: l.tamper}
}
