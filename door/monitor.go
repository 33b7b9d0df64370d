package door

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/lockhw"
)

// Config holds the door model's time limits.
type Config struct {
	// AccessTimeout is how long after an authorised unlock the door must
	// report open; zero means 30 s.
	AccessTimeout time.Duration
	// OpenTooLong is how long a door may stay open; zero means 2 min.
	OpenTooLong time.Duration
}

// Monitor follows every door of one locker and reports events. Feed it
// authorised unlocks (Authorize, or Unlock which also opens the lock) and
// sensor readings (Observe, or Poll which reads a driver), and call Tick (or
// Poll) regularly so time-outs fire. Monitor is safe for concurrent use.
type Monitor struct {
	clock parcelguard.Clock
	cfg   Config

	mu    sync.Mutex
	doors map[int]*doorState
}

// doorState is what the monitor knows about one door.
type doorState struct {
	known    bool // a trusted reading has been seen
	open     bool // the last trusted reading
	locked   bool // the last bolt reading
	openedAt time.Time
	// openGrant is the authorisation the current opening used.
	openGrant   string
	tooLongSent bool
	pending     *authorisation
	faulty      bool // the sensor is not trusted
	tamper      bool
}

// authorisation is an unlock waiting for its door to open.
type authorisation struct {
	grantID string
	at      time.Time
}

// NewMonitor returns a monitor reading the time from clock.
func NewMonitor(clock parcelguard.Clock, cfg Config) *Monitor {
	if cfg.AccessTimeout <= 0 {
		cfg.AccessTimeout = 30 * time.Second
	}
	if cfg.OpenTooLong <= 0 {
		cfg.OpenTooLong = 2 * time.Minute
	}
	return &Monitor{clock: clock, cfg: cfg, doors: map[int]*doorState{}}
}

// Authorize records that lock is about to be unlocked for grantID (a grant
// id, or a reason such as a remote-open command id), so that the opening
// that follows within AccessTimeout is tied to it rather than called
// forced. Call it before the unlock command: a fast door must not beat its
// authorisation. A later authorisation replaces an earlier one, as when a
// user asks the kiosk to open again. A door already open has nothing to
// confirm, so its authorisation is not recorded.
func (m *Monitor) Authorize(lock int, grantID string) error {
	if lock < 1 {
		return fmt.Errorf("door: authorise lock %d: %w", lock, lockhw.ErrNoSuchLock)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	d := m.door(lock)
	if d.known && d.open && !d.faulty {
		return nil
	}
	d.pending = &authorisation{grantID: grantID, at: m.clock.Now()}
	return nil
}

// Unlock authorises and then opens lock on drv. It never looks at the door
// sensor first: a faulty sensor must not keep a user from their parcel,
// and the monitor reports the fault instead. If the open fails the
// authorisation stands, because a board whose reply was lost may still have
// pulsed the lock; a door that stays shut then raises AccessNotTaken.
func (m *Monitor) Unlock(ctx context.Context, drv lockhw.Driver, lock int, grantID string) error {
	if err := m.Authorize(lock, grantID); err != nil {
		return err
	}
	if err := drv.Open(ctx, lock); err != nil {
		return fmt.Errorf("door: unlock %d for %s: %w", lock, grantID, err)
	}
	return nil
}

// Observe takes one sensor reading and returns the events it causes,
// including any time-out that had already passed.
func (m *Monitor) Observe(s lockhw.Status) []Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.observe(s, "door sensor reports a fault")
}

// Tick returns the events that the passage of time alone causes: doors
// that were unlocked and not opened, and doors open too long.
func (m *Monitor) Tick() []Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.clock.Now()
	var evs []Event
	for _, lock := range slices.Sorted(maps.Keys(m.doors)) {
		evs = append(evs, m.expire(lock, m.doors[lock], now)...)
	}
	return evs
}

// Poll reads every lock of drv, observes the readings and ticks. When the
// board does not answer, every door's sensor counts as faulty — the
// monitor is blind, which is an alarm — and the error is returned with the
// events.
func (m *Monitor) Poll(ctx context.Context, drv lockhw.Driver) ([]Event, error) {
	sts, err := drv.Statuses(ctx)
	if err != nil {
		m.mu.Lock()
		var evs []Event
		for lock := 1; lock <= drv.Locks(); lock++ {
			d := m.door(lock)
			blind := lockhw.Status{Lock: lock, Locked: d.locked, Tamper: d.tamper}
			evs = append(evs, m.observe(blind, "lock board does not answer")...)
		}
		m.mu.Unlock()
		return evs, fmt.Errorf("door: poll: %w", err)
	}
	var evs []Event
	for _, s := range sts {
		evs = append(evs, m.Observe(s)...)
	}
	return append(evs, m.Tick()...), nil
}

// door returns lock's state, creating it. The caller holds m.mu.
func (m *Monitor) door(lock int) *doorState {
	d, ok := m.doors[lock]
	if !ok {
		d = &doorState{locked: true}
		m.doors[lock] = d
	}
	return d
}

// observe is Observe under m.mu; faultDetail explains a fault.
func (m *Monitor) observe(s lockhw.Status, faultDetail string) []Event {
	now := m.clock.Now()
	d := m.door(s.Lock)
	evs := m.expire(s.Lock, d, now)
	ev := func(k Kind, grant, detail string) {
		evs = append(evs, Event{Kind: k, Lock: s.Lock, At: now, Priority: priorities[k], GrantID: grant, Detail: detail})
	}

	if s.Tamper != d.tamper {
		d.tamper = s.Tamper
		if s.Tamper {
			ev(Tamper, "", "tamper switch triggered")
		} else {
			ev(TamperCleared, "", "")
		}
	}
	d.locked = s.Locked

	if !s.SensorOK {
		if !d.faulty {
			d.faulty = true
			grant, detail := "", faultDetail
			if d.pending != nil {
				grant, detail = d.pending.grantID, faultDetail+" during an authorised unlock; door movement unknown"
			}
			ev(SensorFault, grant, detail)
		}
		return evs
	}

	restored := d.faulty
	if restored {
		d.faulty = false
		ev(SensorRestored, "", "")
	}
	switch {
	case !d.known:
		// The first trusted reading sets the baseline. An open door with
		// no authorisation may predate the monitor (an agent restart
		// mid-pickup), so it is not called forced; OpenTooLong still
		// catches it.
		d.known = true
		if s.DoorOpen {
			m.opened(d, now)
			if d.pending != nil {
				ev(Opened, d.openGrant, "")
			}
		}
	case s.DoorOpen && !d.open:
		authorised := d.pending != nil
		m.opened(d, now)
		switch {
		case authorised && restored:
			ev(Opened, d.openGrant, "seen open when the sensor recovered")
		case authorised:
			ev(Opened, d.openGrant, "")
		case s.Locked:
			ev(ForcedOpen, "", "door open while the bolt is engaged")
		default:
			ev(ForcedOpen, "", "door open without an authorised unlock")
		}
	case !s.DoorOpen && d.open:
		grant := d.openGrant
		d.open, d.openGrant = false, ""
		ev(Closed, grant, fmt.Sprintf("open for %s", now.Sub(d.openedAt).Round(time.Second)))
	}
	// While the sensor was blind a user may have opened and shut the door;
	// an authorisation that ran out meanwhile is forgotten, not called
	// untaken.
	if restored && d.pending != nil && !now.Before(d.pending.at.Add(m.cfg.AccessTimeout)) {
		d.pending = nil
	}
	return evs
}

// opened marks d open now, consuming its authorisation.
func (m *Monitor) opened(d *doorState, now time.Time) {
	d.open, d.openedAt, d.tooLongSent = true, now, false
	d.openGrant = ""
	if d.pending != nil {
		d.openGrant, d.pending = d.pending.grantID, nil
	}
}

// expire returns lock's time-outs at now. A blind door has none: its
// sensor fault is already the alarm.
func (m *Monitor) expire(lock int, d *doorState, now time.Time) []Event {
	if d.faulty {
		return nil
	}
	var evs []Event
	if p := d.pending; p != nil && !now.Before(p.at.Add(m.cfg.AccessTimeout)) {
		d.pending = nil
		detail := fmt.Sprintf("door not opened within %s of the unlock", m.cfg.AccessTimeout)
		if d.locked {
			detail += "; bolt still engaged, lock may be jammed"
		}
		evs = append(evs, Event{Kind: AccessNotTaken, Lock: lock, At: now, Priority: priorities[AccessNotTaken], GrantID: p.grantID, Detail: detail})
	}
	if d.open && !d.tooLongSent && !now.Before(d.openedAt.Add(m.cfg.OpenTooLong)) {
		d.tooLongSent = true
		evs = append(evs, Event{Kind: OpenTooLong, Lock: lock, At: now, Priority: priorities[OpenTooLong], GrantID: d.openGrant,
			Detail: fmt.Sprintf("open longer than %s", m.cfg.OpenTooLong)})
	}
	return evs
}
