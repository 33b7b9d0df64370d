package code

import (
	"crypto/ed25519"
	"fmt"
)

// SigningKey returns an Ed25519 private key derived deterministically from
// key keyID (HKDF label "qr-token"). Deriving it means one secret file backs
// up everything; lockers get only PublicKeys, so a stolen locker cannot mint
// tokens (SECURITY.md 10).
func (k *Keyring) SigningKey(keyID string) (ed25519.PrivateKey, error) {
	d, err := k.subkeys(keyID)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	return append(ed25519.PrivateKey(nil), d.signing...), nil
}

// PublicKeys returns the token verification key of every key id, for
// distribution to locker agents.
func (k *Keyring) PublicKeys() map[string]ed25519.PublicKey {
	ids := k.IDs()
	pubs := make(map[string]ed25519.PublicKey, len(ids))
	for _, id := range ids {
		priv, err := k.SigningKey(id)
		if err != nil {
			continue // only if the key vanished, which the API does not allow
		}
		pubs[id] = priv.Public().(ed25519.PublicKey)
	}
	return pubs
}

// TokenSigner returns a signer for QR tokens under the current key.
func (k *Keyring) TokenSigner() (*TokenSigner, error) {
	d, err := k.subkeys(k.CurrentID())
	if err != nil {
		return nil, fmt.Errorf("token signer: %w", err)
	}
	return d.signer, nil
}
