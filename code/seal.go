package code

import (
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// sealVersion is the first byte of every sealed value, so the format can
// change later without guessing.
const sealVersion byte = 1

// ErrOpen reports a sealed value that is malformed, or was sealed under
// another key or aad, or was modified.
var ErrOpen = errors.New("cannot open sealed value")

// Seal encrypts plaintext with AES-256-GCM under a subkey derived from key
// keyID, binding aad (e.g. the grant id, so a sealed PIN cannot be moved to
// another grant). Output is version byte | 12-byte random nonce | ciphertext.
func (k *Keyring) Seal(keyID string, aad, plaintext []byte) ([]byte, error) {
	aead, err := k.aead(keyID)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	out := make([]byte, 1+aead.NonceSize(), 1+aead.NonceSize()+len(plaintext)+aead.Overhead())
	out[0] = sealVersion
	// Random 96-bit nonces are safe for far more than the 2^32 seals per
	// key NIST allows; keys rotate long before that.
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, fmt.Errorf("seal: read nonce: %w", err)
	}
	return aead.Seal(out, out[1:], plaintext, sealAAD(aad)), nil
}

// Open decrypts a value made by Seal with the same keyID and aad.
func (k *Keyring) Open(keyID string, aad, sealed []byte) ([]byte, error) {
	aead, err := k.aead(keyID)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	ns := aead.NonceSize()
	if len(sealed) < 1+ns+aead.Overhead() {
		return nil, fmt.Errorf("open: too short: %w", ErrOpen)
	}
	if sealed[0] != sealVersion {
		return nil, fmt.Errorf("open: version %d: %w", sealed[0], ErrOpen)
	}
	pt, err := aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], sealAAD(aad))
	if err != nil {
		return nil, fmt.Errorf("open: %w", ErrOpen)
	}
	return pt, nil
}

// aead returns AES-256-GCM under the seal subkey of keyID.
func (k *Keyring) aead(keyID string) (cipher.AEAD, error) {
	d, err := k.subkeys(keyID)
	if err != nil {
		return nil, err
	}
	return d.aead, nil
}

// sealAAD authenticates the version byte along with the caller's aad, so a
// value cannot be relabelled as another format version.
func sealAAD(aad []byte) []byte {
	return append([]byte{sealVersion}, aad...)
}
