package devicemsg

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"
)

// Reasons a locker refuses a command. Errors from Verify wrap exactly one.
var (
	ErrUnknownKey  = errors.New("command signed with an unknown key")
	ErrSignature   = errors.New("command signature does not verify")
	ErrAudience    = errors.New("command is for another locker")
	ErrExpired     = errors.New("command has expired")
	ErrNotYetValid = errors.New("command is issued in the future")
	ErrReplay      = errors.New("command nonce was already used")
)

// MaxClockSkew is how far in the future issued_at may lie before a locker
// refuses a command; locker clocks drift.
const MaxClockSkew = 5 * time.Minute

// NonceStore remembers the nonces of accepted commands until they expire,
// so each command is accepted once. The agent persists it (a restart must
// not reopen the replay window); MemoryNonceStore serves tests.
type NonceStore interface {
	// UseNonce records n as used until expiresAt, or returns an error
	// wrapping ErrReplay if it is already recorded. It must be atomic: of
	// two concurrent calls with one nonce, one fails.
	UseNonce(ctx context.Context, n Nonce, expiresAt time.Time) error
}

// Verifier accepts commands for one locker. It holds only public keys, so
// a stolen locker cannot mint commands.
type Verifier struct {
	lockerID string
	pubs     map[string]ed25519.PublicKey
	nonces   NonceStore
	now      func() time.Time
}

// NewVerifier returns a verifier for lockerID that trusts pubs by key id,
// records nonces in nonces and reads the time from now.
func NewVerifier(lockerID string, pubs map[string]ed25519.PublicKey, nonces NonceStore, now func() time.Time) (*Verifier, error) {
	if err := checkID("locker id", lockerID); err != nil {
		return nil, fmt.Errorf("new verifier: %w", err)
	}
	if nonces == nil || now == nil {
		return nil, errors.New("new verifier: a nonce store and a clock are required")
	}
	m := make(map[string]ed25519.PublicKey, len(pubs))
	for id, pub := range pubs {
		if len(pub) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("new verifier: key %q is %d bytes, want %d", id, len(pub), ed25519.PublicKeySize)
		}
		m[id] = append(ed25519.PublicKey(nil), pub...)
	}
	return &Verifier{lockerID: lockerID, pubs: m, nonces: nonces, now: now}, nil
}

// Verify checks, in this order, the envelope's structure, the signature
// under a known key, the command's contents, its audience, its validity
// window and finally that its nonce is fresh. The nonce is used last so a
// command refused for another reason does not burn it; the signature comes
// before any content so a forged command never decides which error is seen.
func (v *Verifier) Verify(ctx context.Context, s SignedCommand) (Command, error) {
	if err := s.validate(); err != nil {
		return Command{}, fmt.Errorf("verify command: %w", err)
	}
	pub, ok := v.pubs[s.KeyID]
	if !ok {
		return Command{}, fmt.Errorf("verify command: key %q: %w", s.KeyID, ErrUnknownKey)
	}
	if !ed25519.Verify(pub, signedBytes(s.Command), s.Signature) {
		return Command{}, fmt.Errorf("verify command: %w", ErrSignature)
	}
	c, err := DecodeCommand(s.Command)
	if err != nil {
		return Command{}, fmt.Errorf("verify command: %w", err)
	}
	if c.LockerID != v.lockerID {
		return Command{}, fmt.Errorf("verify command %s: for %q, not %q: %w", c.ID, c.LockerID, v.lockerID, ErrAudience)
	}
	now := v.now()
	if c.IssuedAt.After(now.Add(MaxClockSkew)) {
		return Command{}, fmt.Errorf("verify command %s: issued at %s: %w", c.ID, c.IssuedAt.Format(time.RFC3339), ErrNotYetValid)
	}
	if !now.Before(c.ExpiresAt) {
		return Command{}, fmt.Errorf("verify command %s: expired at %s: %w", c.ID, c.ExpiresAt.Format(time.RFC3339), ErrExpired)
	}
	if err := v.nonces.UseNonce(ctx, c.Nonce, c.ExpiresAt); err != nil {
		return Command{}, fmt.Errorf("verify command %s: %w", c.ID, err)
	}
	return c, nil
}
