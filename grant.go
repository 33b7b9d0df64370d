package parcelguard

import (
	"crypto/hmac"
	"fmt"
	"time"
)

// GrantPurpose is what a grant allows its holder to do.
type GrantPurpose string

// Grant purposes.
const (
	PurposePickup  GrantPurpose = "pickup"
	PurposeDeposit GrantPurpose = "deposit"
	PurposeCollect GrantPurpose = "collect"
)

// GrantState is the lifecycle state of a grant.
type GrantState string

// Grant states. Only an active grant can open a door.
const (
	GrantActive  GrantState = "active"
	GrantUsed    GrantState = "used"
	GrantLocked  GrantState = "locked"
	GrantExpired GrantState = "expired"
	GrantRevoked GrantState = "revoked"
)

// MaxGrantFailures is how many wrong attempts disable a grant (SECURITY.md 8).
const MaxGrantFailures = 5

// Grant is a one-time right to open one compartment for one purpose until it
// expires. Its credential (a PIN) is stored only as a keyed hash and, for
// showing to the recipient, sealed with a server key kept outside the store.
type Grant struct {
	ID            string
	ParcelID      string
	SiteID        string
	CompartmentID string
	Purpose       GrantPurpose
	State         GrantState
	// KeyID names the server key that made CodeHash, PhoneHash and
	// CodeSealed, so keys can rotate while old grants stay valid.
	KeyID string
	// CodeHash is the keyed hash of the PIN, scoped to the site and purpose;
	// unique among the active grants of a site.
	CodeHash []byte
	// PhoneHash is the keyed hash of the recipient's phone digits when the
	// second factor is required, else nil.
	PhoneHash []byte
	// CodeSealed is the PIN encrypted for the recipient's eyes only.
	CodeSealed []byte
	Failures   int
	NotBefore  time.Time
	ExpiresAt  time.Time
	UsedAt     time.Time
	CreatedAt  time.Time
	Version    int64
}

// Usable returns nil if the grant can open its door at now, or the error
// that explains why not.
func (g *Grant) Usable(now time.Time) error {
	switch g.State {
	case GrantActive:
	case GrantLocked:
		return ErrCodeLocked
	case GrantExpired:
		return ErrCodeExpired
	default:
		return ErrCodeRejected
	}
	if now.Before(g.NotBefore) {
		return ErrCodeRejected
	}
	if !now.Before(g.ExpiresAt) {
		return ErrCodeExpired
	}
	return nil
}

// Use consumes the grant. It fails unless the grant is usable, so a grant
// opens at most once.
func (g *Grant) Use(now time.Time) error {
	if err := g.Usable(now); err != nil {
		return fmt.Errorf("use grant %s: %w", g.ID, err)
	}
	g.State, g.UsedAt = GrantUsed, now
	return nil
}

// Fail records a wrong attempt against the grant and locks it at the limit.
// It reports whether this failure locked the grant.
func (g *Grant) Fail() (locked bool) {
	if g.State != GrantActive {
		return false
	}
	g.Failures++
	if g.Failures >= MaxGrantFailures {
		g.State = GrantLocked
		return true
	}
	return false
}

// End moves an active or locked grant to a final state (expired, revoked).
func (g *Grant) End(to GrantState) {
	if g.State == GrantActive || g.State == GrantLocked {
		g.State = to
	}
}

// MatchingGrant returns the grant whose code hash under its own key id
// equals the presented code's hash under that key (hashes[i] is the code
// hashed under keyIDs[i]), or nil. Hashes are compared in constant time.
func MatchingGrant(grants []*Grant, keyIDs []string, hashes [][]byte) *Grant {
	for _, g := range grants {
		for i, id := range keyIDs {
			if id == g.KeyID && hmac.Equal(g.CodeHash, hashes[i]) {
				return g
			}
		}
	}
	return nil
}
