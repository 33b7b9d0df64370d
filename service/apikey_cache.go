package service

import (
	"crypto/subtle"
	"sync"
	"time"

	"github.com/parcelguard/parcelguard"
)

// Every API request authenticates, and reading the key each time was one
// read transaction per request: on SQLite about as much CPU as the rest
// of a small request. A key verified in the last AuthCacheTTL is trusted
// without reading it again. Revoking a key through this Service forgets it
// at once; another instance sharing the store stops accepting it within
// AuthCacheTTL.

// AuthCacheTTL is how long a verified API key is trusted without reading
// it again.
const AuthCacheTTL = time.Second

// authCacheMax bounds the cache; only keys that verified get in, so it is
// the number of keys in use, and past it the cache starts over.
const authCacheMax = 10_000

// authCache holds recently verified keys by prefix.
type authCache struct {
	mu   sync.RWMutex
	keys map[string]authEntry
	// forgets counts forget calls: a key read before a revocation
	// committed must not be trusted after it, so put skips a key read
	// while a forget happened.
	forgets uint64
}

type authEntry struct {
	principal parcelguard.Principal
	secretSum [32]byte // SHA-256 of the secret that verified
	until     time.Time
}

// get returns the principal of prefix if a key with the secret whose
// SHA-256 is sum was verified and is still trusted at now; else the
// generation to hand put once the key has been read.
func (c *authCache) get(prefix string, sum [32]byte, now time.Time) (p parcelguard.Principal, ok bool, gen uint64) {
	c.mu.RLock()
	e, found := c.keys[prefix]
	gen = c.forgets
	c.mu.RUnlock()
	if !found || !now.Before(e.until) || subtle.ConstantTimeCompare(sum[:], e.secretSum[:]) != 1 {
		return parcelguard.Principal{}, false, gen
	}
	return e.principal, true, gen
}

// put trusts a key verified by a read begun at generation gen until
// now+AuthCacheTTL, unless a key was forgotten since.
func (c *authCache) put(p parcelguard.Principal, sum [32]byte, now time.Time, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.forgets != gen {
		return
	}
	if c.keys == nil || len(c.keys) >= authCacheMax {
		c.keys = map[string]authEntry{}
	}
	c.keys[p.KeyPrefix] = authEntry{principal: p, secretSum: sum, until: now.Add(AuthCacheTTL)}
}

// forget drops prefix, so its next request reads the key.
func (c *authCache) forget(prefix string) {
	c.mu.Lock()
	delete(c.keys, prefix)
	c.forgets++
	c.mu.Unlock()
}
