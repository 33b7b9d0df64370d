package code

import (
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
)

// deriveSalt separates parcelguard's derivations from any other use of the
// same key material.
var deriveSalt = []byte("parcelguard/keyring/v1")

// Derivation labels. Each purpose gets its own subkey, so a weakness in how
// one is used (say, a GCM nonce collision) says nothing about the others,
// and none equals the raw key that Hash uses.
const (
	labelSeal  = "seal"
	labelToken = "qr-token"
)

// derive returns a 32-byte subkey of key keyID for the purpose label.
func (k *Keyring) derive(keyID, label string) ([]byte, error) {
	key, err := k.key(keyID)
	if err != nil {
		return nil, err
	}
	sub, err := hkdf.Key(sha256.New, key, deriveSalt, label, 32)
	if err != nil {
		return nil, fmt.Errorf("derive %s key: %w", label, err)
	}
	return sub, nil
}
