package code

import (
	"crypto/rand"
	"errors"
	"fmt"
	"time"
)

// Token limits. They keep a token small enough for a QR code and bound the
// work a hostile string can cause.
const (
	MaxTokenField = 64  // bytes per string field
	MaxTokenBytes = 512 // bytes of the decoded token, signature included
)

// Verification errors, testable with errors.Is.
var (
	ErrTokenMalformed   = errors.New("token malformed")
	ErrTokenSignature   = errors.New("token signature invalid")
	ErrTokenExpired     = errors.New("token expired")
	ErrTokenNotYetValid = errors.New("token not yet valid")
	ErrTokenAudience    = errors.New("token audience mismatch")
	// ErrTokenUnknownKey is a signature failure because the key id is not
	// known; errors.Is matches it and ErrTokenSignature.
	ErrTokenUnknownKey = fmt.Errorf("%w: unknown key id", ErrTokenSignature)
)

// Token is the content of a signed QR token (SECURITY.md 10).
type Token struct {
	Issuer   string // e.g. "parcelguard"
	Audience string // locker (site) id
	Subject  string // grant id
	Purpose  string // "pickup", "deposit", "collect"
	// NotBefore and Expiry bound when the token opens; second precision.
	NotBefore, Expiry time.Time
	ID                [16]byte // 128-bit random token id (SECURITY.md 1)
}

// NewToken returns a token with a fresh random ID and its times truncated to
// whole seconds, the precision of the encoding.
func NewToken(issuer, audience, subject, purpose string, notBefore, expiry time.Time) (Token, error) {
	t := Token{
		Issuer:    issuer,
		Audience:  audience,
		Subject:   subject,
		Purpose:   purpose,
		NotBefore: notBefore.Truncate(time.Second),
		Expiry:    expiry.Truncate(time.Second),
	}
	if _, err := rand.Read(t.ID[:]); err != nil {
		return Token{}, fmt.Errorf("new token: read id: %w", err)
	}
	if err := t.validate(); err != nil {
		return Token{}, fmt.Errorf("new token: %w", err)
	}
	return t, nil
}

// maxUnix is the last second of year 9999; later times are surely bugs and
// would overflow time arithmetic.
const maxUnix = 253402300799

// validate checks the limits that the encoding relies on.
func (t *Token) validate() error {
	for _, f := range []struct{ name, v string }{
		{"issuer", t.Issuer}, {"audience", t.Audience}, {"subject", t.Subject}, {"purpose", t.Purpose},
	} {
		if f.v == "" || len(f.v) > MaxTokenField {
			return fmt.Errorf("%s must be 1 to %d bytes", f.name, MaxTokenField)
		}
	}
	nbf, exp := t.NotBefore.Unix(), t.Expiry.Unix()
	if nbf < 0 || exp > maxUnix {
		return errors.New("times must lie between 1970 and 9999")
	}
	if exp <= nbf {
		return errors.New("expiry must be after not-before")
	}
	return nil
}
