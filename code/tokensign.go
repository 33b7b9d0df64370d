package code

import (
	"crypto/ed25519"
	"fmt"
	"time"
)

// TokenSigner signs QR tokens with one Ed25519 key. It lives only on the
// server.
type TokenSigner struct {
	keyID string
	priv  ed25519.PrivateKey
}

// NewTokenSigner returns a signer that names keyID in every token it signs.
func NewTokenSigner(keyID string, priv ed25519.PrivateKey) *TokenSigner {
	return &TokenSigner{keyID: keyID, priv: priv}
}

// Sign encodes and signs t. Times are encoded to the second.
func (s *TokenSigner) Sign(t Token) (string, error) {
	if err := validKeyID(s.keyID); err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	if len(s.priv) != ed25519.PrivateKeySize {
		return "", fmt.Errorf("sign token: private key is %d bytes, want %d", len(s.priv), ed25519.PrivateKeySize)
	}
	if err := t.validate(); err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	b := appendBody(make([]byte, 0, MaxTokenBytes), s.keyID, &t)
	b = append(b, ed25519.Sign(s.priv, b)...)
	if len(b) > MaxTokenBytes {
		return "", fmt.Errorf("sign token: %d bytes exceeds %d", len(b), MaxTokenBytes)
	}
	return tokenEncoding.EncodeToString(b), nil
}

// TokenVerifier checks QR tokens against a set of public keys. It is what a
// locker agent holds: it can check tokens but not make them.
type TokenVerifier struct {
	pubs map[string]ed25519.PublicKey
}

// NewTokenVerifier returns a verifier that trusts the given public keys by key id.
func NewTokenVerifier(pubs map[string]ed25519.PublicKey) *TokenVerifier {
	m := make(map[string]ed25519.PublicKey, len(pubs))
	for id, pub := range pubs {
		m[id] = append(ed25519.PublicKey(nil), pub...)
	}
	return &TokenVerifier{pubs: m}
}

// Verify parses s and checks, in this order, its signature under a known key
// id, that its audience is audience, and that now lies in [NotBefore,
// Expiry). Only the structure is judged before the signature: the content
// of a forged token never decides which error the caller sees.
func (v *TokenVerifier) Verify(s string, audience string, now time.Time) (Token, error) {
	keyID, t, body, sig, err := decodeToken(s)
	if err != nil {
		return Token{}, fmt.Errorf("verify token: %w: %w", ErrTokenMalformed, err)
	}
	pub, ok := v.pubs[keyID]
	if !ok {
		return Token{}, fmt.Errorf("verify token: key %q: %w", keyID, ErrTokenUnknownKey)
	}
	if len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, body, sig) {
		return Token{}, fmt.Errorf("verify token: %w", ErrTokenSignature)
	}
	if t.Audience != audience {
		return Token{}, fmt.Errorf("verify token: for %q, not %q: %w", t.Audience, audience, ErrTokenAudience)
	}
	if now.Before(t.NotBefore) {
		return Token{}, fmt.Errorf("verify token: valid from %s: %w", t.NotBefore.Format(time.RFC3339), ErrTokenNotYetValid)
	}
	if !now.Before(t.Expiry) {
		return Token{}, fmt.Errorf("verify token: expired at %s: %w", t.Expiry.Format(time.RFC3339), ErrTokenExpired)
	}
	return t, nil
}
