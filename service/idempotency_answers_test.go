package service_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/service"
)

// heldStore holds the next Update after arm until release, so a test can
// look at the world while an answer is on its way to the store.
type heldStore struct {
	parcelguard.Store
	mu      sync.Mutex
	armed   bool
	entered chan struct{} // closed when the held Update arrives
	release chan struct{}
}

func (h *heldStore) arm() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.armed, h.entered, h.release = true, make(chan struct{}), make(chan struct{})
}

func (h *heldStore) Update(ctx context.Context, fn func(parcelguard.Tx) error) error {
	h.mu.Lock()
	held := h.armed
	h.armed = false
	h.mu.Unlock()
	if held {
		close(h.entered)
		<-h.release
	}
	return h.Store.Update(ctx, fn)
}

// Ensure an answer stored after it went out is waited for by a retry in
// the same process (which then replays it) and refused with 409 by
// another process until it is stored, and that answers stored together
// do not fail together when one of them is stale.
func TestIdempotentAnswerStoredLater(t *testing.T) {
	f := newFixture(t)
	held := &heldStore{Store: f.db}
	logs := &bytes.Buffer{}
	svc := service.New(service.Config{Store: held, Clock: f.clock, Keys: f.keys,
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	other := service.New(service.Config{Store: f.db, Clock: f.clock, Keys: f.keys}) // another instance
	hash := []byte("h")

	claimed := must3(svc.BeginIdempotent(f.ctx, "key:a", "k", hash))(t)
	held.arm()
	svc.StoreAnswerLater(claimed, 201, []byte("created"), true)
	<-held.entered

	type begun struct {
		replay *parcelguard.IdempotencyRecord
		err    error
	}
	retry := make(chan begun, 1)
	go func() {
		_, replay, err := svc.BeginIdempotent(f.ctx, "key:a", "k", hash)
		retry <- begun{replay, err}
	}()
	if _, _, err := other.BeginIdempotent(f.ctx, "key:a", "k", hash); !errors.Is(err, parcelguard.ErrIdempotencyInFlight) {
		t.Fatalf("another instance before the answer is stored: %v, want in flight", err)
	}
	select {
	case b := <-retry:
		t.Fatalf("the retry did not wait for the answer: %+v", b)
	case <-time.After(50 * time.Millisecond):
	}
	close(held.release)
	b := <-retry
	if b.err != nil || b.replay == nil || b.replay.Status != 201 || string(b.replay.Response) != "created" {
		t.Fatalf("the retry after the answer was stored: %+v, %v", b.replay, b.err)
	}
	svc.WaitAnswers()

	// A batch with a stale record: the takeover of an expired key has
	// bumped its version, so the old holder's answer is no longer the
	// key's. The other answer of the batch is stored all the same.
	old := must3(svc.BeginIdempotent(f.ctx, "key:a", "stale", hash))(t)
	fresh := must3(svc.BeginIdempotent(f.ctx, "key:a", "fresh", hash))(t)
	f.clock.Advance(parcelguard.IdempotencyLease)
	takeover := must3(other.BeginIdempotent(f.ctx, "key:a", "stale", hash))(t)
	held.arm()
	svc.StoreAnswerLater(old, 201, []byte("late"), true) // held: the next two queue behind it
	<-held.entered
	svc.StoreAnswerLater(old, 201, []byte("late"), true)
	svc.StoreAnswerLater(fresh, 200, []byte("fresh"), true)
	close(held.release)
	svc.WaitAnswers()
	if _, replay, err := other.BeginIdempotent(f.ctx, "key:a", "fresh", hash); err != nil || replay == nil || string(replay.Response) != "fresh" {
		t.Fatalf("the batch's good answer: %+v, %v", replay, err)
	}
	other.StoreAnswerLater(takeover, 201, []byte("ok"), true)
	other.WaitAnswers()
	if _, replay, err := other.BeginIdempotent(f.ctx, "key:a", "stale", hash); err != nil || replay == nil || string(replay.Response) != "ok" {
		t.Fatalf("the key's new holder's answer: %+v, %v", replay, err)
	}
	if logs.Len() != 0 {
		t.Fatalf("a stale answer was logged as a failure: %s", logs)
	}
}
