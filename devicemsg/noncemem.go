package devicemsg

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// MemoryNonceStore is a NonceStore in memory, for tests and the simulator.
// It forgets a nonce once its command has expired: the Verifier refuses
// expired commands anyway, so memory stays bounded by the command rate.
type MemoryNonceStore struct {
	mu   sync.Mutex
	now  func() time.Time
	seen map[Nonce]time.Time
}

// NewMemoryNonceStore returns an empty store that reads the time from now.
func NewMemoryNonceStore(now func() time.Time) *MemoryNonceStore {
	return &MemoryNonceStore{now: now, seen: make(map[Nonce]time.Time)}
}

// UseNonce implements NonceStore.
func (m *MemoryNonceStore) UseNonce(_ context.Context, n Nonce, expiresAt time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	for k, exp := range m.seen {
		if !now.Before(exp) {
			delete(m.seen, k)
		}
	}
	if _, ok := m.seen[n]; ok {
		return fmt.Errorf("nonce %s: %w", n, ErrReplay)
	}
	m.seen[n] = expiresAt
	return nil
}

// Len returns how many nonces the store remembers.
func (m *MemoryNonceStore) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.seen)
}
