package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/code"
	"github.com/parcelguard/parcelguard/metrics"
	"github.com/parcelguard/parcelguard/notify"
	"github.com/parcelguard/parcelguard/service"
)

// Action is one thing an actor does at a moment of simulated time. It
// reports problems through the World (Violation, Unexpected), never by
// panicking.
type Action func(ctx context.Context, w *World)

// Actor is a kind of participant of the network. The built-in ones are the
// carrier (announcing parcels along the curve), couriers (deposit and
// return rounds), recipients and attackers; further kinds (doorstep
// couriers, delegates) plug in through Options.Actors.
type Actor interface {
	Name() string
	// Start schedules the actor's first actions; it runs once, after the
	// network is seeded and before the first tick.
	Start(ctx context.Context, w *World) error
}

// MessageListener is an Actor that also hears every notification the
// outbox delivers (a recipient's SMS, a carrier's webhook).
type MessageListener interface {
	OnMessage(ctx context.Context, w *World, r *notify.Rendered)
}

// Options are a run's collaborators beyond its Config.
type Options struct {
	// Store is an open, migrated store; Run does not close it.
	Store parcelguard.Store
	// Engine names the store engine for the report ("sqlite", "postgres").
	Engine string
	// Keys is the server keyring; a fresh one when nil.
	Keys *code.Keyring
	// Progress receives a line per simulated hour when not nil.
	Progress io.Writer
	// Actors are further participants, started after the built-in ones.
	Actors []Actor
	// AfterTick runs after every tick's invariant sweep, between ticks
	// (tests use it to inject faults the checker must catch).
	AfterTick func(ctx context.Context, w *World) error
}

// World is the simulated network and the service it runs against.
type World struct {
	cfg    Config
	opts   Options
	svc    *service.Service
	store  parcelguard.Store
	clock  *parcelguard.ManualClock
	mets   *metrics.Metrics
	disp   *notify.Dispatcher
	rng    *rand.Rand // main loop only
	actors []Actor

	operator, carrierP, courier parcelguard.Principal

	// mu guards the model: sites' queues and counts, parcel records.
	mu        sync.Mutex
	sites     []*siteRec
	siteCum   []float64   // cumulative compartment share, for choosing sites
	parcels   []parcelRec // preallocated: records never move
	totalComp int

	qmu   sync.Mutex
	queue map[int64][]Action
	tick  atomic.Int64 // index of the tick being run
	start time.Time

	stats   *stats
	checks  *checker
	attacks []*attacker
}

// siteRec is the model of one site.
type siteRec struct {
	idx          int
	id           string
	kiosk        parcelguard.Principal
	compartments int
	bySize       [4]int
	offset       time.Duration // of its courier rounds

	queue        []int32 // parcels announced for the site, not yet deposited
	expiredKnown []int32 // expired parcels the carrier was told of, not yet collected
	roundAt      int64   // tick of the scheduled round, or -1

	reserved int // compartments reserved by the model's parcels
	occupied int // compartments holding a deposited or expired parcel
	active   int // parcels deposited and not yet picked up or expired
	attacked bool
}

// pstate is the model's view of a parcel's state.
type pstate uint8

const (
	pNew pstate = iota
	pAnnounced
	pReserved
	pDeposited
	pPickedUp
	pExpired
	pCollected
	pReturned
)

var pstateNames = [...]parcelguard.ParcelState{"", parcelguard.ParcelAnnounced, parcelguard.ParcelReserved,
	parcelguard.ParcelDeposited, parcelguard.ParcelPickedUp, parcelguard.ParcelExpired, parcelguard.ParcelCollected,
	parcelguard.ParcelReturned}

// Parcel flags drawn at arrival.
const (
	fEmail uint8 = 1 << iota
	fQR
	fTypo
	fReplay
	fNever
	fStolen  // an attacker opened its compartment
	fTypoed  // the recipient already mistyped once
	fArrived // the recipient came at least once
)

// Parcel flags of parcelRec.extra.
const (
	xDelegated uint8 = 1 << iota // the recipient named delegates (see actors_delegate.go)
)

// parcelRec is the model of one parcel: 72 bytes without a pointer, so
// millions of them cost little, and they live outside the garbage
// collected heap (model_mem.go), which therefore stays small.
type parcelRec struct {
	id          shortID
	compartment shortID
	site        int32
	size        uint8
	state       pstate
	flags       uint8
	extra       uint8  // more flags (x…)
	notes       uint32 // notifications received, one bit each (see notify.go)
	// Unix seconds (as uint32: until 2106).
	announced uint32
	deposited uint32
	deadline  uint32
	delay     int32 // seconds from the deposit notice to the recipient's visit
	waited    int32 // seconds the recipient lost to the guard's delays
}

// unixAt is the time of a record's unix seconds.
func unixAt(sec uint32) time.Time { return time.Unix(int64(sec), 0).UTC() }

func (p *parcelRec) has(f uint8) bool { return p.flags&f != 0 }

// Now is the simulated time.
func (w *World) Now() time.Time { return w.clock.Now() }

// Service is the service the world runs against.
func (w *World) Service() *service.Service { return w.svc }

// Store is the store under the service (for checks and fault injection).
func (w *World) Store() parcelguard.Store { return w.store }

// SiteIDs lists the ids of the network's sites.
func (w *World) SiteIDs() []string {
	out := make([]string, len(w.sites))
	for i, s := range w.sites {
		out[i] = s.id
	}
	return out
}

// tickOf returns the index of the tick containing t.
func (w *World) tickOf(t time.Time) int64 {
	return int64(t.Sub(w.start) / w.cfg.Tick)
}

// timeOf returns the start of tick i.
func (w *World) timeOf(i int64) time.Time { return w.start.Add(time.Duration(i) * w.cfg.Tick) }

// Schedule runs a at simulated time at, rounded up to the next tick
// boundary; anything at or before the running tick runs in the next one.
func (w *World) Schedule(at time.Time, a Action) {
	i := w.tickOf(at)
	if !w.timeOf(i).Equal(at) {
		i++
	}
	if cur := w.tick.Load(); i <= cur {
		i = cur + 1
	}
	w.qmu.Lock()
	w.queue[i] = append(w.queue[i], a)
	w.qmu.Unlock()
}

// take removes and returns the actions of tick i.
func (w *World) take(i int64) []Action {
	w.qmu.Lock()
	defer w.qmu.Unlock()
	a := w.queue[i]
	delete(w.queue, i)
	return a
}

// nextQueued returns the first tick after i with actions, looking at most
// limit ticks ahead (-1 if none).
func (w *World) nextQueued(i, limit int64) int64 {
	w.qmu.Lock()
	defer w.qmu.Unlock()
	for j := i + 1; j <= i+limit; j++ {
		if len(w.queue[j]) > 0 {
			return j
		}
	}
	return -1
}

// runActions runs actions on the configured number of workers and waits.
func (w *World) runActions(ctx context.Context, actions []Action) {
	if len(actions) == 0 {
		return
	}
	next := make(chan Action)
	var wg sync.WaitGroup
	for range min(w.cfg.Workers, len(actions)) {
		wg.Go(func() {
			for a := range next {
				a(ctx, w)
			}
		})
	}
	for _, a := range actions {
		next <- a
	}
	close(next)
	wg.Wait()
}

// timed runs fn and records its wall-clock latency under op.
func (w *World) timed(op string, fn func() error) error {
	t0 := time.Now()
	err := fn()
	w.stats.op(op, time.Since(t0))
	w.stats.count(sServiceCalls, w.Now(), 1)
	return err
}

// Violation records a broken invariant; the run fails.
func (w *World) Violation(kind, format string, args ...any) {
	w.checks.violation(kind, fmt.Sprintf(format, args...))
}

// Unexpected records a service error no actor expected; the run fails,
// since a use case failing where it should succeed breaks the network's
// promise as surely as a broken invariant.
func (w *World) Unexpected(op string, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	w.checks.violation("unexpected_error", fmt.Sprintf("%s: %v", op, err))
}

// errCode returns the domain error code of err ("" for nil).
func errCode(err error) string { return parcelguard.ErrorCode(err) }

// retryAfter returns how long a throttled answer asks to wait.
func retryAfter(err error) time.Duration {
	var e *parcelguard.Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}
