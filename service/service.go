// Package service holds parcelguard's use cases: each one checks who may do
// it, runs one store transaction, and appends the audit events of every state
// change in that same transaction. Transports (http, device, cli) call it;
// it calls the store, the clock and the keyring, and nothing else.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/code"
	"github.com/parcelguard/parcelguard/metrics"
)

// Config is what a Service needs; Store, Clock and Keys are required.
type Config struct {
	Store   parcelguard.Store
	Clock   parcelguard.Clock
	Keys    *code.Keyring
	Metrics *metrics.Metrics
	Logger  *slog.Logger
	// TimerChunk is how many due timers fire in one transaction; 0 means
	// one. Worth raising where one writer commits everything (SQLite);
	// where transactions run side by side (PostgreSQL), chunks hold the
	// audit stream heads of several sites at once and lock each other out.
	TimerChunk int
}

// Service runs parcelguard's use cases.
type Service struct {
	store   parcelguard.Store
	clock   parcelguard.Clock
	keys    *code.Keyring
	metrics *metrics.Metrics
	log     *slog.Logger

	timerChunk int
	// syncedMaps holds the command keys of locker maps this process has
	// seen queued, so SyncLockerCompartments leaves the writer alone.
	syncedMaps sync.Map
	// auth holds recently verified API keys.
	auth authCache
	// answers holds idempotent answers on their way to the store.
	answers answerQueue
}

// New returns a Service; missing Metrics and Logger default to discarding ones.
func New(cfg Config) *Service {
	s := &Service{store: cfg.Store, clock: cfg.Clock, keys: cfg.Keys, metrics: cfg.Metrics, log: cfg.Logger,
		timerChunk: max(cfg.TimerChunk, 1)}
	if s.metrics == nil {
		s.metrics = metrics.Discard()
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

// maxRetries bounds how often a use case re-runs after losing a race that
// the store reports as a conflict (an optimistic version check, or two
// deposits drawing the same PIN at once).
const maxRetries = 5

// update runs fn in a store transaction, re-running it when it lost a race.
// The first one of a request that carries an Idempotency-Key claim also
// stores the claim (idempotency_claim.go); if the key is stored already,
// fn does not run and the use case fails with ErrIdempotencyInFlight.
func (s *Service) update(ctx context.Context, fn func(tx parcelguard.Tx) error) error {
	claim := pendingClaim(ctx)
	var claimed *parcelguard.IdempotencyRecord
	run := fn
	if claim != nil {
		run = func(tx parcelguard.Tx) (err error) {
			if claimed, err = s.claimIn(ctx, tx, claim); err != nil {
				return err
			}
			return fn(tx)
		}
	}
	var err error
	for range maxRetries {
		err = s.store.Update(ctx, run)
		if !errors.Is(err, parcelguard.ErrConflict) && !errors.Is(err, errRetryDuplicate) {
			break
		}
	}
	switch {
	case claim == nil:
	case errors.Is(err, errKeyTaken):
		claim.taken = true
		return parcelguard.ErrIdempotencyInFlight
	case err == nil:
		claim.record = claimed
	}
	return err
}

// errRetryDuplicate marks a duplicate worth retrying with fresh random input.
var errRetryDuplicate = errors.New("duplicate random value")

// appendEvent stamps e with the time and actor and appends it.
func (s *Service) appendEvent(ctx context.Context, tx parcelguard.Tx, p parcelguard.Principal, e *parcelguard.Event) error {
	now := s.clock.Now()
	e.ID = parcelguard.NewID("evt", now)
	e.At = now
	e.Actor = p.Actor()
	if e.Stream == "" {
		e.Stream = parcelguard.SystemStream
		if e.SiteID != "" {
			e.Stream = parcelguard.SiteStream(e.SiteID)
		}
	}
	if err := tx.AppendEvent(ctx, e); err != nil {
		return fmt.Errorf("append %s event: %w", e.Kind, err)
	}
	return nil
}
