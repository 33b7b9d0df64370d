package agent

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/code"
	"github.com/parcelguard/parcelguard/devicemsg"
	"github.com/parcelguard/parcelguard/door"
)

// Agent runs one locker.
type Agent struct {
	cfg      Config
	site     string
	store    *store
	clock    parcelguard.Clock
	keys     *code.Keyring
	tokens   *code.TokenVerifier
	verifier *devicemsg.Verifier
	monitor  *door.Monitor
	log      *slog.Logger

	// mapMu guards the compartment → lock map, which a config command
	// may extend while doors are polled and codes checked.
	mapMu  sync.RWMutex
	byID   map[string]Compartment
	byLock map[int]Compartment

	mu        sync.Mutex
	heartbeat time.Duration
}

// New opens the agent's store and builds its verifiers from the
// provisioning.
func New(ctx context.Context, cfg Config) (*Agent, error) {
	p := cfg.Provisioning
	if p == nil || cfg.Path == "" || cfg.Driver == nil {
		return nil, errors.New("new agent: provisioning, store path and lock driver are required")
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("new agent: %w", err)
	}
	if cfg.Clock == nil {
		cfg.Clock = parcelguard.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Heartbeat = orDefault(cfg.Heartbeat, 30*time.Second)
	cfg.Poll = orDefault(cfg.Poll, 250*time.Millisecond)
	cfg.Flush = orDefault(cfg.Flush, time.Second)
	cfg.CameraTimeout = orDefault(cfg.CameraTimeout, 3*time.Second)
	keys, err := code.NewKeyring(p.CodeKeyID, p.CodeKeys)
	if err != nil {
		return nil, fmt.Errorf("new agent: code keys: %w", err)
	}
	pubs := map[string]ed25519.PublicKey{}
	for id, k := range p.PublicKeys {
		pubs[id] = k
	}
	st, err := openStore(ctx, cfg.Path)
	if err != nil {
		return nil, err
	}
	a := &Agent{cfg: cfg, site: p.SiteID, store: st, clock: cfg.Clock, keys: keys, tokens: code.NewTokenVerifier(pubs),
		monitor: door.NewMonitor(cfg.Clock, cfg.Door), log: cfg.Logger.With("site", p.SiteID),
		byID: map[string]Compartment{}, byLock: map[int]Compartment{}, heartbeat: cfg.Heartbeat}
	// The compartments the cloud added since provisioning (config
	// commands) are in the store; the provisioning file has the rest.
	learned, err := st.compartments(ctx)
	if err != nil {
		st.Close()
		return nil, err
	}
	for _, c := range append(append([]Compartment(nil), p.Compartments...), learned...) {
		if c.Lock > cfg.Driver.Locks() {
			st.Close()
			return nil, fmt.Errorf("new agent: compartment %s on lock %d, but the board has %d", c.Label, c.Lock, cfg.Driver.Locks())
		}
		a.byID[c.ID], a.byLock[c.Lock] = c, c
	}
	a.verifier, err = devicemsg.NewVerifier(p.SiteID, pubs, nonceStore{s: st, now: cfg.Clock.Now}, cfg.Clock.Now)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("new agent: %w", err)
	}
	return a, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Close closes the store.
func (a *Agent) Close() error { return a.store.Close() }

// SiteID returns the locker's site id.
func (a *Agent) SiteID() string { return a.site }

// Grant returns the locker's copy of a grant (parcelguard.ErrNotFound if it
// has none).
func (a *Agent) Grant(ctx context.Context, id string) (*parcelguard.Grant, error) {
	var g *parcelguard.Grant
	err := a.store.tx(ctx, func(tx *sql.Tx) (err error) { g, err = grant(ctx, tx, id); return err })
	return g, err
}

// PendingEvents returns how many events wait in the outbox.
func (a *Agent) PendingEvents(ctx context.Context) (int, error) {
	var n int
	err := a.store.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox WHERE sent = 0`).Scan(&n)
	return n, err
}

// VerifyChain checks the hash chain of every event the locker recorded and
// returns how many there are; an edit, deletion or reordering fails with
// ErrChainBroken.
func (a *Agent) VerifyChain(ctx context.Context) (int, error) { return a.store.verifyChain(ctx) }

// Pending returns the events waiting in the outbox, oldest first.
func (a *Agent) Pending(ctx context.Context) ([]devicemsg.Event, error) {
	return a.store.pendingEvents(ctx, 1000)
}

// newEvent returns an event of this locker, stamped now.
func (a *Agent) newEvent(kind devicemsg.EventKind, compartment string, grantIDs ...string) *devicemsg.Event {
	now := a.clock.Now()
	return &devicemsg.Event{ID: parcelguard.NewID("dev", now), LockerID: a.site, At: now, Kind: kind,
		Compartment: compartment, GrantIDs: grantIDs, Data: map[string]string{}}
}

// bookmark asks the camera to bookmark ev and notes the outcome on it
// (SECURITY.md 17): the bookmark id, or "unrecorded" when the camera is
// down.
func (a *Agent) bookmark(ctx context.Context, ev *devicemsg.Event) {
	if a.cfg.Camera == nil {
		return
	}
	label := string(ev.Kind)
	if c, ok := a.compartment(ev.Compartment); ok {
		label += " " + c.Label
	}
	bctx, cancel := context.WithTimeout(ctx, a.cfg.CameraTimeout)
	defer cancel()
	id, err := a.cfg.Camera.Bookmark(bctx, a.cfg.CameraID, label, ev.At, ev.ID)
	if err != nil || id == "" || len(id) > devicemsg.MaxDataValueLen {
		a.log.Warn("camera bookmark failed", "event", ev.ID, "err", err)
		ev.Data["unrecorded"] = "true"
		return
	}
	ev.Data["bookmark"] = id
}

// record appends an event to the outbox on its own.
func (a *Agent) record(ctx context.Context, ev *devicemsg.Event) error {
	if ev.Kind.IsAlarm() || ev.Kind == devicemsg.EventDoorOpened || ev.Kind == devicemsg.EventDoorClosed {
		a.bookmark(ctx, ev)
	}
	return a.store.tx(ctx, func(tx *sql.Tx) error { return enqueue(ctx, tx, ev) })
}

// lockOf returns the lock of a compartment.
func (a *Agent) lockOf(compartment string) (int, bool) {
	c, ok := a.compartment(compartment)
	return c.Lock, ok
}

// compartment returns a compartment by id.
func (a *Agent) compartment(id string) (Compartment, bool) {
	a.mapMu.RLock()
	defer a.mapMu.RUnlock()
	c, ok := a.byID[id]
	return c, ok
}

// compartmentAt returns the compartment on a lock.
func (a *Agent) compartmentAt(lock int) (Compartment, bool) {
	a.mapMu.RLock()
	defer a.mapMu.RUnlock()
	c, ok := a.byLock[lock]
	return c, ok
}

// Compartments returns the compartment → lock map the agent works with.
func (a *Agent) Compartments() []Compartment {
	a.mapMu.RLock()
	defer a.mapMu.RUnlock()
	out := make([]Compartment, 0, len(a.byID))
	for _, c := range a.byID {
		out = append(out, c)
	}
	slices.SortFunc(out, func(x, y Compartment) int { return x.Lock - y.Lock })
	return out
}
