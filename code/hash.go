package code

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
)

// hashDomain prefixes every hashed message, so these MACs can never collide
// with a MAC the same key makes for another protocol.
const hashDomain = "parcelguard/code-hash/v1"

// Hash returns HMAC-SHA256 under key keyID of a domain-separated encoding of
// scope and secret. Both are length-prefixed so ("a","bc") != ("ab","c").
// Scope binds the code to e.g. "pickup|site_123" so the same PIN hashes
// differently per site and purpose (SECURITY.md 2, 4).
func (k *Keyring) Hash(keyID, scope, secret string) ([]byte, error) {
	key, err := k.key(keyID)
	if err != nil {
		return nil, fmt.Errorf("hash: %w", err)
	}
	return mac(key, scope, secret), nil
}

// HashAll returns the hash under every key (current first) with their ids,
// so a lookup finds grants made under older keys.
func (k *Keyring) HashAll(scope, secret string) (ids []string, hashes [][]byte) {
	// One read lock for the whole loop, so a concurrent Rotate cannot
	// leave ids and hashes out of step.
	k.mu.RLock()
	defer k.mu.RUnlock()
	ids = k.orderedIDs()
	hashes = make([][]byte, len(ids))
	for i, id := range ids {
		hashes[i] = mac(k.keys[id], scope, secret)
	}
	return ids, hashes
}

// Equal compares two MACs in constant time (SECURITY.md 5).
func Equal(a, b []byte) bool { return hmac.Equal(a, b) }

// mac computes HMAC-SHA256(key, domain | len(scope) | scope | len(secret) | secret).
func mac(key []byte, scope, secret string) []byte {
	m := hmac.New(sha256.New, key)
	var n [8]byte
	m.Write([]byte(hashDomain))
	binary.BigEndian.PutUint64(n[:], uint64(len(scope)))
	m.Write(n[:])
	m.Write([]byte(scope))
	binary.BigEndian.PutUint64(n[:], uint64(len(secret)))
	m.Write(n[:])
	m.Write([]byte(secret))
	return m.Sum(nil)
}
