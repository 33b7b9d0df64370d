package parcelguard

import (
	"context"
	"time"
)

// AccountTx is the part of Tx for people who sign in to the web apps: operators, couriers and their sessions.
type AccountTx interface {
	// CreateAccount inserts a; a taken Username is ErrDuplicate.
	CreateAccount(ctx context.Context, a *Account) error
	// Account returns the account with the id.
	Account(ctx context.Context, id string) (*Account, error)
	// AccountByUsername returns the account with the (lower-case) name.
	AccountByUsername(ctx context.Context, username string) (*Account, error)
	// Accounts returns the accounts f selects, in user name order.
	Accounts(ctx context.Context, f AccountFilter) ([]*Account, error)
	// SetAccountDisabled disables the account at at, or enables it again
	// with a zero at; a missing account is ErrNotFound.
	SetAccountDisabled(ctx context.Context, id string, at time.Time) error
	// DeleteAccountSessions removes every session of the account,
	// returning how many.
	DeleteAccountSessions(ctx context.Context, accountID string) (int, error)
	// CreateSession inserts s.
	CreateSession(ctx context.Context, s *Session) error
	// Session returns the session whose token hashes to tokenHash.
	Session(ctx context.Context, tokenHash []byte) (*Session, error)
	// TouchSession records that the session was used at lastSeen.
	TouchSession(ctx context.Context, tokenHash []byte, lastSeen time.Time) error
	// DeleteSession removes a session; a missing one is no error.
	DeleteSession(ctx context.Context, tokenHash []byte) error
	// DeleteExpiredSessions removes sessions whose absolute expiry is at
	// or before now, returning how many.
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error)
	// SignInGuard returns the failure budget of a sign-in key, or a zero
	// one (Version 0) if none was saved yet.
	SignInGuard(ctx context.Context, key string) (*SignInGuard, error)
	// SaveSignInGuard inserts (Version 0) or updates a guard whose Version
	// is current, and bumps Version.
	SaveSignInGuard(ctx context.Context, g *SignInGuard) error
}

// Account is a person who signs in to a web app: an operator or admin in
// the console, a courier (bound to a carrier) in the courier app.
type Account struct {
	ID string
	// Username is unique and lower-case.
	Username string
	Name     string
	Role     Role
	// CarrierID binds a courier to their carrier.
	CarrierID string
	// PasswordHash is an argon2id hash in PHC string form; never the password.
	PasswordHash string
	CreatedAt    time.Time
	DisabledAt   time.Time
}

// AccountFilter selects accounts; zero fields select all.
type AccountFilter struct {
	Role      Role
	CarrierID string
	// After is a cursor: only user names after it.
	After string
	Limit int
}

// Disabled reports whether the account may no longer sign in.
func (a *Account) Disabled() bool { return !a.DisabledAt.IsZero() }

// Principal is what the account acts as in the use cases; the account id
// stands in the audit trail where an API key's prefix would.
func (a *Account) Principal() Principal {
	return Principal{Role: a.Role, KeyPrefix: a.ID, CarrierID: a.CarrierID}
}

// Session is a signed-in browser. Only the SHA-256 of its 256-bit random
// token is stored, so a copy of the database signs nobody in.
type Session struct {
	TokenHash  []byte
	AccountID  string
	CreatedAt  time.Time
	LastSeenAt time.Time
	// ExpiresAt is the absolute end of the session; it also ends after
	// SessionIdle without use.
	ExpiresAt time.Time
}

// Session lifetimes (OWASP ASVS 3.3): an absolute cap and an idle timeout.
const (
	SessionLifetime = 12 * time.Hour
	SessionIdle     = 30 * time.Minute
)

// Live reports whether the session may still be used at now.
func (s *Session) Live(now time.Time) bool {
	return now.Before(s.ExpiresAt) && now.Before(s.LastSeenAt.Add(SessionIdle))
}

// SignInGuard is the failure budget of one sign-in name (lower-cased,
// known or not): after SignInFreeFailures failures each further one blocks
// the name for a delay doubling from SignInBaseDelay up to SignInMaxDelay.
// It lives in the store, so restarts and parallel instances share it.
type SignInGuard struct {
	Key          string
	Failures     int
	LastFailure  time.Time
	BlockedUntil time.Time
	Version      int64
}

// Sign-in throttling.
const (
	SignInFreeFailures = 5
	SignInBaseDelay    = 30 * time.Second
	SignInMaxDelay     = 15 * time.Minute
	// SignInQuiet resets the budget after a day without failures.
	SignInQuiet = 24 * time.Hour
)

// Fail records a failed sign-in at now and sets the block that follows.
func (g *SignInGuard) Fail(now time.Time) {
	if !g.LastFailure.IsZero() && now.Sub(g.LastFailure) >= SignInQuiet {
		g.Failures = 0
	}
	g.Failures++
	g.LastFailure = now
	if over := g.Failures - SignInFreeFailures; over > 0 {
		d := SignInBaseDelay
		for i := 1; i < over && d < SignInMaxDelay; i++ {
			d *= 2
		}
		g.BlockedUntil = now.Add(min(d, SignInMaxDelay))
	}
}

// Blocked returns how long the name must still wait at now (0 for none).
func (g *SignInGuard) Blocked(now time.Time) time.Duration {
	if now.Before(g.BlockedUntil) {
		return g.BlockedUntil.Sub(now)
	}
	return 0
}
