package service

import (
	"context"
	"errors"
	"log/slog"
	"sync"

	"github.com/parcelguard/parcelguard"
)

// A request that claimed its Idempotency-Key with its effect has nothing
// left to do but store its answer under the key. Storing it before the
// answer goes out put a second writer transaction on every keyed request's
// path, for a record that only a retry ever reads. So the answer goes out
// first and is stored just after (StoreAnswerLater), several requests'
// answers in one transaction.
//
// Until it is stored, the key reads as in flight. A retry that reaches
// this process meanwhile waits for the answer instead of being told 409
// (BeginIdempotent); one that reaches another instance is told to come
// back in a second, as for any request still running. If the process dies
// first, the key stays in flight until its lease runs out, as a crash
// between the effect and the answer always left it.

// maxAnswerBatch bounds how many answers one transaction stores.
const maxAnswerBatch = 256

// answerQueue holds the answers waiting to be stored, and the keys they
// belong to, for the retries that wait on them.
type answerQueue struct {
	mu      sync.Mutex
	queued  []*parcelguard.IdempotencyRecord
	stored  map[answerKey]chan struct{} // closed once the key's answer is stored (or failed to be)
	running bool                        // a storer goroutine is at work
	work    sync.WaitGroup              // the storer goroutine
}

// answerKey names an idempotency key across callers.
type answerKey struct{ scope, key string }

// StoreAnswerLater stores the answer of a request that holds r (see
// answered), without waiting: the caller may send the answer at once. A
// retry of the same key in this process waits for it. An answer whose
// key was taken over meanwhile (its lease ran out) is dropped.
func (s *Service) StoreAnswerLater(r *parcelguard.IdempotencyRecord, status int, response []byte, replayable bool) {
	done := s.answered(r, status, response, replayable)
	q := &s.answers
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.stored == nil {
		q.stored = map[answerKey]chan struct{}{}
	}
	k := answerKey{r.Scope, r.Key}
	if _, ok := q.stored[k]; !ok {
		q.stored[k] = make(chan struct{})
	}
	q.queued = append(q.queued, done)
	if !q.running {
		q.running = true
		q.work.Add(1)
		go s.storeAnswers()
	}
}

// WaitAnswers returns once every answer handed to StoreAnswerLater is
// stored. Call it after the last request has been served, before the
// store closes.
func (s *Service) WaitAnswers() { s.answers.work.Wait() }

// storeAnswers stores queued answers, a batch per transaction, until none
// is left.
func (s *Service) storeAnswers() {
	q := &s.answers
	defer q.work.Done()
	for {
		q.mu.Lock()
		n := min(len(q.queued), maxAnswerBatch)
		if n == 0 {
			q.running = false
			q.queued = nil
			q.mu.Unlock()
			return
		}
		batch := q.queued[:n:n]
		q.queued = q.queued[n:]
		q.mu.Unlock()

		s.storeAnswerBatch(batch)

		q.mu.Lock()
		for _, r := range batch {
			k := answerKey{r.Scope, r.Key}
			if ch, ok := q.stored[k]; ok {
				close(ch)
				delete(q.stored, k)
			}
		}
		q.mu.Unlock()
	}
}

// storeAnswerBatch stores batch in one transaction. One record that can
// no longer be stored (its key was taken over after its lease ran out)
// would undo the others with it, so then each is stored on its own.
func (s *Service) storeAnswerBatch(batch []*parcelguard.IdempotencyRecord) {
	ctx := context.Background() // the requests are answered already
	save := func(rs []*parcelguard.IdempotencyRecord) error {
		return s.store.Update(ctx, func(tx parcelguard.Tx) error {
			for _, r := range rs {
				d := *r
				if err := tx.SaveIdempotencyKey(ctx, &d); err != nil {
					return err
				}
			}
			return nil
		})
	}
	err := save(batch)
	if err == nil {
		return
	}
	if len(batch) > 1 {
		for _, r := range batch {
			s.logAnswerFailure(save([]*parcelguard.IdempotencyRecord{r}))
		}
		return
	}
	s.logAnswerFailure(err)
}

// logAnswerFailure logs, without the key, an answer that could not be
// stored. A stale version is not a failure: the key's lease ran out and
// a retry took it over, so this answer is no longer the key's.
func (s *Service) logAnswerFailure(err error) {
	if err == nil || errors.Is(err, parcelguard.ErrConflict) || errors.Is(err, parcelguard.ErrNotFound) {
		return
	}
	s.log.LogAttrs(context.Background(), slog.LevelWarn, "store idempotent answer", slog.Any("err", err))
}

// waitAnswer waits, if this process is storing the answer of scope's key,
// until it is stored, and reports whether it waited.
func (s *Service) waitAnswer(ctx context.Context, scope, key string) bool {
	q := &s.answers
	q.mu.Lock()
	ch, ok := q.stored[answerKey{scope, key}]
	q.mu.Unlock()
	if !ok {
		return false
	}
	select {
	case <-ch:
		return true
	case <-ctx.Done():
		return false
	}
}
