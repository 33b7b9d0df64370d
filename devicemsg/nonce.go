package devicemsg

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
)

// Nonce is a 128-bit random value that makes each command unique, so a
// locker can accept a command once and refuse any replay of it.
type Nonce [16]byte

// NewNonce returns a nonce from crypto/rand.
func NewNonce() Nonce {
	var n Nonce
	_, _ = rand.Read(n[:]) // crypto/rand.Read never fails on supported platforms
	return n
}

// IsZero reports whether n is all zeros, which the contract rejects: it is
// what a forgotten NewNonce looks like.
func (n Nonce) IsZero() bool { return n == Nonce{} }

// String returns n as 32 lower-case hex digits.
func (n Nonce) String() string { return hex.EncodeToString(n[:]) }

// MarshalText encodes n as 32 lower-case hex digits.
func (n Nonce) MarshalText() ([]byte, error) { return []byte(n.String()), nil }

// UnmarshalText accepts exactly 32 lower-case hex digits, so each nonce has
// one spelling and a replay cannot hide behind upper case.
func (n *Nonce) UnmarshalText(b []byte) error {
	if len(b) != 32 {
		return fmt.Errorf("%w: nonce must be 32 hex digits", ErrMalformed)
	}
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return fmt.Errorf("%w: nonce must be lower-case hex", ErrMalformed)
		}
	}
	_, err := hex.Decode(n[:], b)
	return err
}
