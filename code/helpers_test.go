package code

import (
	"bytes"
	"testing"
)

// fixedKeyring returns a keyring with fixed keys, so tests and fuzz seeds
// are reproducible.
func fixedKeyring(tb testing.TB) *Keyring {
	tb.Helper()
	k, err := NewKeyring("k1", map[string][]byte{
		"k1": bytes.Repeat([]byte{0x11}, 32),
		"k2": bytes.Repeat([]byte{0x22}, 32),
	})
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// mustKey returns the raw key keyID for inspection by tests.
func mustKey(tb testing.TB, k *Keyring, keyID string) []byte {
	tb.Helper()
	key, err := k.key(keyID)
	if err != nil {
		tb.Fatal(err)
	}
	return key
}
