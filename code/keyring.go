package code

import (
	"crypto/rand"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Key size limits. 32 bytes matches the HMAC-SHA256 block strength; the
// upper bound only keeps a corrupt file from being taken as a key.
const (
	MinKeySize = 32
	maxKeySize = 1024
	maxKeys    = 256
)

// ErrUnknownKey reports a key id that the keyring does not hold.
var ErrUnknownKey = errors.New("unknown key id")

// Keyring holds the server's secret keys by key id. Keys live outside the
// database (a file with mode 0600, or env); the current key id makes new
// hashes, any key id verifies. It is safe for concurrent use.
type Keyring struct {
	mu      sync.RWMutex
	current string
	keys    map[string][]byte
	derived sync.Map // key id → *subkeys
}

// NewKeyring returns a keyring holding copies of keys, with current as the
// key id for new hashes.
func NewKeyring(current string, keys map[string][]byte) (*Keyring, error) {
	if len(keys) == 0 || len(keys) > maxKeys {
		return nil, fmt.Errorf("new keyring: need 1 to %d keys, got %d", maxKeys, len(keys))
	}
	k := &Keyring{current: current, keys: make(map[string][]byte, len(keys))}
	for id, key := range keys {
		if err := validKeyID(id); err != nil {
			return nil, fmt.Errorf("new keyring: %w", err)
		}
		if len(key) < MinKeySize || len(key) > maxKeySize {
			return nil, fmt.Errorf("new keyring: key %q must be %d to %d bytes, got %d", id, MinKeySize, maxKeySize, len(key))
		}
		k.keys[id] = append([]byte(nil), key...)
	}
	if _, ok := k.keys[current]; !ok {
		return nil, fmt.Errorf("new keyring: current key %q: %w", current, ErrUnknownKey)
	}
	return k, nil
}

// GenerateKeyring returns a keyring with one fresh 32-byte key with id "k1".
func GenerateKeyring() (*Keyring, error) {
	key, err := randomKey()
	if err != nil {
		return nil, fmt.Errorf("generate keyring: %w", err)
	}
	return NewKeyring("k1", map[string][]byte{"k1": key})
}

// Rotate adds a fresh key with the next id ("k<n+1>") and makes it current.
// Older keys stay, so codes made under them still verify until they expire.
func (k *Keyring) Rotate() (newID string, err error) {
	key, err := randomKey()
	if err != nil {
		return "", fmt.Errorf("rotate keyring: %w", err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.keys) >= maxKeys {
		return "", fmt.Errorf("rotate keyring: already %d keys; remove retired ones first", len(k.keys))
	}
	newID = k.nextID()
	if err := validKeyID(newID); err != nil {
		return "", fmt.Errorf("rotate keyring: %w", err)
	}
	k.keys[newID] = key
	k.current = newID
	return newID, nil
}

// CurrentID returns the id of the key that makes new hashes, seals and tokens.
func (k *Keyring) CurrentID() string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.current
}

// IDs returns all key ids, current first, then the rest in sorted order.
func (k *Keyring) IDs() []string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.orderedIDs()
}

// orderedIDs lists key ids, current first. The caller holds the lock.
func (k *Keyring) orderedIDs() []string {
	ids := make([]string, 0, len(k.keys))
	for id := range k.keys {
		if id != k.current {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return append([]string{k.current}, ids...)
}

// String describes the keyring without any key material, so a keyring that
// ends up in a log line or error message leaks nothing.
func (k *Keyring) String() string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return fmt.Sprintf("keyring(current=%s, %d keys)", k.current, len(k.keys))
}

// GoString keeps %#v from dumping the key bytes.
func (k *Keyring) GoString() string { return k.String() }

// key returns the raw key with id keyID. Callers must not modify it.
func (k *Keyring) key(keyID string) ([]byte, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	key, ok := k.keys[keyID]
	if !ok {
		return nil, fmt.Errorf("key %q: %w", keyID, ErrUnknownKey)
	}
	return key, nil
}

// nextID returns "k" followed by one more than the highest numbered "k<n>"
// id, skipping any id already taken. The caller holds the lock.
func (k *Keyring) nextID() string {
	n := 0
	for id := range k.keys {
		if digits, ok := strings.CutPrefix(id, "k"); ok {
			if v, err := strconv.Atoi(digits); err == nil && v > n {
				n = v
			}
		}
	}
	for {
		n++
		id := "k" + strconv.Itoa(n)
		if _, taken := k.keys[id]; !taken {
			return id
		}
	}
}

// validKeyID checks that id is 1-16 characters of [a-z0-9], so ids are safe
// in file names, log lines and token headers.
func validKeyID(id string) error {
	if len(id) == 0 || len(id) > 16 {
		return fmt.Errorf("key id %q must be 1 to 16 characters", id)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return fmt.Errorf("key id %q may contain only a-z and 0-9", id)
		}
	}
	return nil
}

// randomKey returns a fresh 32-byte key from crypto/rand.
func randomKey() ([]byte, error) {
	key := make([]byte, MinKeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("read random key: %w", err)
	}
	return key, nil
}
