package service

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parcelguard/parcelguard"
)

// Account events. Sign-in failures are audited without the name typed, so
// a password typed into the name field never reaches the log.
const (
	EventAccountCreated  parcelguard.EventKind = "account.created"
	EventAccountDisabled parcelguard.EventKind = "account.disabled"
	EventAccountEnabled  parcelguard.EventKind = "account.enabled"
	EventSignInFailed    parcelguard.EventKind = "signin.failed"
	EventSignedIn        parcelguard.EventKind = "signin.succeeded"
)

// NewAccountInput is what CreateAccount needs.
type NewAccountInput struct {
	Username  string
	Name      string
	Password  string
	Role      parcelguard.Role
	CarrierID string
}

// CreateAccount adds a person who signs in to a web app: an operator or
// admin (console) or a courier of a carrier (courier app). Operators may
// add operators and couriers; only admins and the system (the CLI) add
// admins.
func (s *Service) CreateAccount(ctx context.Context, p parcelguard.Principal, in NewAccountInput) (*parcelguard.Account, error) {
	if err := mayManage(p, in.Role); err != nil {
		return nil, err
	}
	in.Username = strings.ToLower(strings.TrimSpace(in.Username))
	var f []parcelguard.FieldError
	if !validUsername(in.Username) {
		f = append(f, parcelguard.FieldError{Field: "username", Message: "must be 3 to 64 letters, digits, dots, dashes or underscores"})
	}
	if n := utf8.RuneCountInString(in.Password); n < MinPasswordLength || len(in.Password) > MaxPasswordLength {
		f = append(f, parcelguard.FieldError{Field: "password", Message: fmt.Sprintf("must be %d to %d characters", MinPasswordLength, MaxPasswordLength)})
	}
	switch in.Role {
	case parcelguard.RoleAdmin, parcelguard.RoleOperator:
		if in.CarrierID != "" {
			f = append(f, parcelguard.FieldError{Field: "carrier_id", Message: "only couriers belong to a carrier"})
		}
	case parcelguard.RoleCourier:
		if in.CarrierID == "" {
			f = append(f, parcelguard.FieldError{Field: "carrier_id", Message: "a courier must belong to a carrier"})
		}
	default:
		f = append(f, parcelguard.FieldError{Field: "role", Message: "must be admin, operator or courier"})
	}
	if len(in.Name) > 200 {
		f = append(f, parcelguard.FieldError{Field: "name", Message: "must be at most 200 characters"})
	}
	if len(f) > 0 {
		return nil, parcelguard.Invalid(f...)
	}
	hash, err := HashPassword(in.Password)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	a := &parcelguard.Account{ID: parcelguard.NewID("acc", now), Username: in.Username, Name: in.Name, Role: in.Role,
		CarrierID: in.CarrierID, PasswordHash: hash, CreatedAt: now}
	err = s.update(ctx, func(tx parcelguard.Tx) error {
		if a.CarrierID != "" {
			if _, err := tx.Carrier(ctx, a.CarrierID); err != nil {
				return fieldNotFound("carrier_id", err)
			}
		}
		if err := tx.CreateAccount(ctx, a); err != nil {
			if errors.Is(err, parcelguard.ErrDuplicate) {
				return parcelguard.Errorf(parcelguard.ECONFLICT, "the user name %q is taken", a.Username)
			}
			return err
		}
		return s.appendEvent(ctx, tx, p, &parcelguard.Event{Kind: EventAccountCreated,
			Data: map[string]string{"account_id": a.ID, "username": a.Username, "role": string(a.Role), "carrier_id": a.CarrierID}})
	})
	if err != nil {
		return nil, fmt.Errorf("create account: %w", err)
	}
	return a, nil
}

// mayManage says whether p may create, disable or enable an account of
// role: operators manage operators and couriers, admins every account.
func mayManage(p parcelguard.Principal, role parcelguard.Role) error {
	if err := require(p, parcelguard.RoleOperator); err != nil {
		return err
	}
	if role == parcelguard.RoleAdmin {
		return require(p) // admins and the system only
	}
	return nil
}

// GeneratePassword returns a random password for a new account (26
// base32 characters, 130 bits), to be shown once to whoever created it.
func GeneratePassword() string { return rand.Text() }

// Accounts lists the accounts f selects in user name order (at most 500,
// 100 by default). Operators and admins only.
func (s *Service) Accounts(ctx context.Context, p parcelguard.Principal, f parcelguard.AccountFilter) ([]*parcelguard.Account, error) {
	if err := require(p, parcelguard.RoleOperator); err != nil {
		return nil, err
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	var out []*parcelguard.Account
	err := s.store.View(ctx, func(tx parcelguard.Tx) (err error) {
		out, err = tx.Accounts(ctx, f)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	return out, nil
}

// ErrOwnAccount refuses disabling the account one is signed in with, so
// nobody locks the last admin out by mistake.
var ErrOwnAccount = parcelguard.Errorf(parcelguard.ECONFLICT, "you cannot disable your own account")

// SetAccountDisabled disables an account, which ends its sessions at once
// and refuses its sign-ins, or enables it again. Operators manage
// operators and couriers, admins every account; nobody disables their own.
// Disabling a disabled account (or enabling an enabled one) changes
// nothing and records nothing.
func (s *Service) SetAccountDisabled(ctx context.Context, p parcelguard.Principal, id string, disabled bool) (*parcelguard.Account, error) {
	if err := require(p, parcelguard.RoleOperator); err != nil {
		return nil, err
	}
	var out *parcelguard.Account
	err := s.update(ctx, func(tx parcelguard.Tx) error {
		a, err := tx.Account(ctx, id)
		if err != nil {
			return err
		}
		if err := mayManage(p, a.Role); err != nil {
			return err
		}
		out = a
		if a.Disabled() == disabled {
			return nil
		}
		kind := EventAccountEnabled
		a.DisabledAt = time.Time{}
		if disabled {
			if p.KeyPrefix == a.ID {
				return ErrOwnAccount
			}
			kind, a.DisabledAt = EventAccountDisabled, s.clock.Now()
		}
		if err := tx.SetAccountDisabled(ctx, a.ID, a.DisabledAt); err != nil {
			return err
		}
		data := map[string]string{"account_id": a.ID, "username": a.Username, "role": string(a.Role)}
		if disabled {
			n, err := tx.DeleteAccountSessions(ctx, a.ID)
			if err != nil {
				return err
			}
			data["sessions_ended"] = fmt.Sprint(n)
		}
		return s.appendEvent(ctx, tx, p, &parcelguard.Event{Kind: kind, Data: data})
	})
	if err != nil {
		return nil, fmt.Errorf("set account %s disabled=%v: %w", id, disabled, err)
	}
	return out, nil
}

func validUsername(u string) bool {
	if len(u) < 3 || len(u) > 64 {
		return false
	}
	for _, c := range u {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// dummyHash is verified against when the name is unknown, so an unknown
// name and a wrong password cost the same time.
var dummyHash = func() string {
	h, err := HashPassword("parcelguard-dummy-password")
	if err != nil {
		panic(err)
	}
	return h
}()

// SignedIn is a verified session: the account and its principal.
type SignedIn struct {
	Account   *parcelguard.Account
	Principal parcelguard.Principal
	ExpiresAt time.Time
}

// SignIn checks a user name and password and opens a session, returning
// its token (256 random bits; only its hash is stored). Every failure —
// unknown name, wrong password, disabled account, wrong app — is the same
// ErrUnauthorized after the same work; a name over its failure budget gets
// ErrThrottled with the wait, before any password is checked. roles limits
// which accounts may sign in here (the console's or the courier app's).
func (s *Service) SignIn(ctx context.Context, username, password string, roles ...parcelguard.Role) (string, *SignedIn, error) {
	username = strings.ToLower(strings.TrimSpace(username))
	if len(username) > 64 || len(password) > MaxPasswordLength {
		username, password = "", ""
	}
	key := "user:" + username
	now := s.clock.Now()
	var (
		guard *parcelguard.SignInGuard
		acct  *parcelguard.Account
	)
	err := s.store.View(ctx, func(tx parcelguard.Tx) (err error) {
		if guard, err = tx.SignInGuard(ctx, key); err != nil {
			return err
		}
		acct, err = tx.AccountByUsername(ctx, username)
		if errors.Is(err, parcelguard.ErrNotFound) {
			acct, err = nil, nil
		}
		return err
	})
	if err != nil {
		return "", nil, fmt.Errorf("sign in: %w", err)
	}
	if wait := guard.Blocked(now); wait > 0 {
		return "", nil, parcelguard.Throttled(wait)
	}
	hash := dummyHash
	if acct != nil {
		hash = acct.PasswordHash
	}
	ok, verr := VerifyPassword(hash, password)
	ok = ok && verr == nil && acct != nil && acct.DisabledAt.IsZero() && roleIn(acct.Role, roles)
	if !ok {
		err := s.update(ctx, func(tx parcelguard.Tx) error {
			g, err := tx.SignInGuard(ctx, key)
			if err != nil {
				return err
			}
			g.Fail(now)
			if err := tx.SaveSignInGuard(ctx, g); err != nil {
				return err
			}
			data := map[string]string{"failures": fmt.Sprint(g.Failures)}
			if acct != nil {
				data["account_id"] = acct.ID
			}
			return s.appendEvent(ctx, tx, parcelguard.Principal{}, &parcelguard.Event{Kind: EventSignInFailed, Data: data})
		})
		if err != nil {
			return "", nil, fmt.Errorf("sign in: %w", err)
		}
		return "", nil, parcelguard.ErrUnauthorized
	}
	token, th := newSessionToken()
	sess := &parcelguard.Session{TokenHash: th, AccountID: acct.ID, CreatedAt: now, LastSeenAt: now,
		ExpiresAt: now.Add(parcelguard.SessionLifetime)}
	err = s.update(ctx, func(tx parcelguard.Tx) error {
		if guard.Version > 0 {
			g, err := tx.SignInGuard(ctx, key)
			if err != nil {
				return err
			}
			g.Failures, g.BlockedUntil = 0, time.Time{}
			if err := tx.SaveSignInGuard(ctx, g); err != nil {
				return err
			}
		}
		if err := tx.CreateSession(ctx, sess); err != nil {
			return err
		}
		return s.appendEvent(ctx, tx, acct.Principal(), &parcelguard.Event{Kind: EventSignedIn,
			Data: map[string]string{"account_id": acct.ID}})
	})
	if err != nil {
		return "", nil, fmt.Errorf("sign in: %w", err)
	}
	return token, &SignedIn{Account: acct, Principal: acct.Principal(), ExpiresAt: sess.ExpiresAt}, nil
}

func roleIn(r parcelguard.Role, roles []parcelguard.Role) bool {
	if len(roles) == 0 {
		return true
	}
	for _, x := range roles {
		if x == r {
			return true
		}
	}
	return false
}

// sessionPrefix marks session tokens, so a leaked one is recognisable.
const sessionPrefix = "pgs_"

// newSessionToken returns a fresh token and its stored hash.
func newSessionToken() (string, []byte) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	token := sessionPrefix + base64.RawURLEncoding.EncodeToString(b)
	return token, sessionHash(token)
}

func sessionHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// Session verifies a session token: it must exist, be within its absolute
// lifetime and idle timeout, and belong to an enabled account. A valid
// session's idle clock restarts (written at most once a minute).
func (s *Service) Session(ctx context.Context, token string) (*SignedIn, error) {
	if !strings.HasPrefix(token, sessionPrefix) || len(token) > 128 {
		return nil, parcelguard.ErrUnauthorized
	}
	th := sessionHash(token)
	now := s.clock.Now()
	var (
		sess *parcelguard.Session
		acct *parcelguard.Account
	)
	err := s.store.View(ctx, func(tx parcelguard.Tx) (err error) {
		if sess, err = tx.Session(ctx, th); err != nil {
			return err
		}
		acct, err = tx.Account(ctx, sess.AccountID)
		return err
	})
	if errors.Is(err, parcelguard.ErrNotFound) {
		return nil, parcelguard.ErrUnauthorized
	}
	if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	if !sess.Live(now) || !acct.DisabledAt.IsZero() {
		return nil, parcelguard.ErrUnauthorized
	}
	if now.Sub(sess.LastSeenAt) >= time.Minute {
		err := s.update(ctx, func(tx parcelguard.Tx) error { return tx.TouchSession(ctx, th, now) })
		if errors.Is(err, parcelguard.ErrNotFound) {
			return nil, parcelguard.ErrUnauthorized // signed out meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("session: %w", err)
		}
	}
	return &SignedIn{Account: acct, Principal: acct.Principal(), ExpiresAt: sess.ExpiresAt}, nil
}

// SignOut ends the session of token; an unknown token is no error.
func (s *Service) SignOut(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	th := sessionHash(token)
	return s.update(ctx, func(tx parcelguard.Tx) error { return tx.DeleteSession(ctx, th) })
}

// PurgeSessions deletes sessions past their absolute lifetime.
func (s *Service) PurgeSessions(ctx context.Context) (n int, err error) {
	err = s.update(ctx, func(tx parcelguard.Tx) (err error) {
		n, err = tx.DeleteExpiredSessions(ctx, s.clock.Now())
		return err
	})
	return n, err
}
