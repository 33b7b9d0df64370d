package code

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
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

// subkeys is what one key id derives: the sealing cipher and the token
// signing key. A key id's key never changes (Rotate adds ids, nothing
// replaces one), so they are derived once per id and kept: HKDF, the AES
// key schedule and Ed25519's public point otherwise cost more than the
// seal or signature they serve.
type subkeys struct {
	aead    cipher.AEAD // safe for concurrent use: Seal and Open keep no state
	signing ed25519.PrivateKey
	signer  *TokenSigner
}

// subkeys returns the derived keys of keyID, deriving them on first use.
func (k *Keyring) subkeys(keyID string) (*subkeys, error) {
	if d, ok := k.derived.Load(keyID); ok {
		return d.(*subkeys), nil
	}
	seal, err := k.derive(keyID, labelSeal)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(seal)
	if err != nil {
		return nil, fmt.Errorf("derive %s key: %w", labelSeal, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("derive %s key: %w", labelSeal, err)
	}
	seed, err := k.derive(keyID, labelToken)
	if err != nil {
		return nil, err
	}
	priv := ed25519.NewKeyFromSeed(seed)
	d := &subkeys{aead: aead, signing: priv, signer: NewTokenSigner(keyID, priv)}
	// Two first uses may race; both derive the same keys, one is kept.
	got, _ := k.derived.LoadOrStore(keyID, d)
	return got.(*subkeys), nil
}
