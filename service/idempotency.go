package service

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/parcelguard/parcelguard"
)

// MaxIdempotencyKeyLength bounds an Idempotency-Key; a UUID is 36.
const MaxIdempotencyKeyLength = 255

// purgeBatch is how many expired idempotency records one transaction of
// PurgeIdempotencyKeys deletes.
const purgeBatch = 500

// ValidIdempotencyKey reports whether key is 1 to 255 printable ASCII
// characters, which every key a client should send is.
func ValidIdempotencyKey(key string) bool {
	if key == "" || len(key) > MaxIdempotencyKeyLength {
		return false
	}
	for i := range len(key) {
		if key[i] < 0x21 || key[i] > 0x7e {
			return false
		}
	}
	return true
}

// BeginIdempotent claims an Idempotency-Key for a request of the caller
// scope whose content hashes to requestHash.
//
// It returns the claimed in-flight record when the request should run
// (the key is new, expired, or its previous holder died), or the stored
// record as replay when an earlier request with the same key and content
// finished. It fails with ErrIdempotencyMismatch when the key was used for
// different content, ErrIdempotencyInFlight while another request holds
// the key, and ErrNotReplayable when the earlier answer was withheld.
//
// A key whose answer this process is still storing (StoreAnswerLater) is
// waited for rather than refused.
func (s *Service) BeginIdempotent(ctx context.Context, scope, key string, requestHash []byte) (claimed, replay *parcelguard.IdempotencyRecord, err error) {
	if err := checkIdempotencyKey(scope, key); err != nil {
		return nil, nil, err
	}
	claimed, replay, err = s.beginIdempotent(ctx, scope, key, requestHash)
	if errors.Is(err, parcelguard.ErrIdempotencyInFlight) && s.waitAnswer(ctx, scope, key) {
		claimed, replay, err = s.beginIdempotent(ctx, scope, key, requestHash)
	}
	return claimed, replay, err
}

// beginIdempotent is one try of BeginIdempotent.
func (s *Service) beginIdempotent(ctx context.Context, scope, key string, requestHash []byte) (claimed, replay *parcelguard.IdempotencyRecord, err error) {
	err = s.update(ctx, func(tx parcelguard.Tx) error {
		claimed, replay = nil, nil
		now := s.clock.Now()
		fresh := newIdempotencyRecord(scope, key, requestHash, parcelguard.IdempotencyInFlight, now)
		r, err := tx.IdempotencyKey(ctx, scope, key)
		switch {
		case errors.Is(err, parcelguard.ErrNotFound):
			if err := tx.CreateIdempotencyKey(ctx, fresh); err != nil {
				if errors.Is(err, parcelguard.ErrDuplicate) {
					return parcelguard.ErrConflict // lost a race; look again
				}
				return err
			}
			claimed = fresh
			return nil
		case err != nil:
			return err
		case r.Expired(now) || r.Abandoned(now) && bytes.Equal(r.RequestHash, requestHash):
			// Forgotten, or its holder died: take it over. The version
			// check stops two takers, and the dead holder's late answer.
			fresh.Version = r.Version
			if err := tx.SaveIdempotencyKey(ctx, fresh); err != nil {
				return err
			}
			claimed = fresh
			return nil
		case r.State == parcelguard.IdempotencyInFlight && !r.Abandoned(now):
			return parcelguard.ErrIdempotencyInFlight
		case !bytes.Equal(r.RequestHash, requestHash):
			return parcelguard.ErrIdempotencyMismatch
		case r.State == parcelguard.IdempotencyWithheld:
			return parcelguard.ErrNotReplayable
		}
		replay = r
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("idempotency key: %w", err)
	}
	return claimed, replay, nil
}

// answered is r finished with its answer. An answer that carries a
// one-time secret is not kept: with replayable false only a marker
// remains, so a retry learns it succeeded without seeing the secret again.
func (s *Service) answered(r *parcelguard.IdempotencyRecord, status int, response []byte, replayable bool) *parcelguard.IdempotencyRecord {
	done := *r
	done.State, done.Status, done.Response, done.UpdatedAt = parcelguard.IdempotencyDone, status, response, s.clock.Now()
	if !replayable {
		done.State, done.Response = parcelguard.IdempotencyWithheld, nil
	}
	return &done
}

// AbandonIdempotent releases a key whose request ended without an answer
// worth keeping (a 5xx or a transient refusal), so a retry runs again.
func (s *Service) AbandonIdempotent(ctx context.Context, r *parcelguard.IdempotencyRecord) error {
	err := s.store.Update(ctx, func(tx parcelguard.Tx) error { return tx.DeleteIdempotencyKey(ctx, r) })
	if err != nil && !errors.Is(err, parcelguard.ErrNotFound) && !errors.Is(err, parcelguard.ErrConflict) {
		return fmt.Errorf("abandon idempotency key: %w", err)
	}
	return nil
}

// PurgeIdempotencyKeys deletes every idempotency record expired at the
// clock's now, in batches, and returns how many went. The scheduler calls
// it periodically; expired records are ignored by BeginIdempotent anyway,
// so this only bounds the table.
func (s *Service) PurgeIdempotencyKeys(ctx context.Context) (int, error) {
	total := 0
	for {
		var n int
		err := s.store.Update(ctx, func(tx parcelguard.Tx) (err error) {
			n, err = tx.DeleteExpiredIdempotencyKeys(ctx, s.clock.Now(), purgeBatch)
			return err
		})
		total += n
		if err != nil {
			return total, fmt.Errorf("purge idempotency keys: %w", err)
		}
		if n < purgeBatch {
			return total, nil
		}
	}
}
