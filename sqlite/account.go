package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/parcelguard/parcelguard"
)

const accountColumns = `id, username, name, role, carrier_id, password_hash, created_at, disabled_at`

// CreateAccount inserts a.
func (t *tx) CreateAccount(ctx context.Context, a *parcelguard.Account) error {
	_, err := t.exec(ctx, `INSERT INTO accounts (`+accountColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.Username, a.Name, string(a.Role), nullString(a.CarrierID), a.PasswordHash, nanos(a.CreatedAt), nanos(a.DisabledAt))
	if err != nil {
		return fmt.Errorf("create account %s: %w", a.Username, dbErr(err))
	}
	return nil
}

// Account returns the account with the id.
func (t *tx) Account(ctx context.Context, id string) (*parcelguard.Account, error) {
	a, err := scanAccount(t.queryRow(ctx, `SELECT `+accountColumns+` FROM accounts WHERE id = ?`, id))
	if err != nil {
		return nil, fmt.Errorf("get account %s: %w", id, err)
	}
	return a, nil
}

// AccountByUsername returns the account with the name.
func (t *tx) AccountByUsername(ctx context.Context, username string) (*parcelguard.Account, error) {
	a, err := scanAccount(t.queryRow(ctx, `SELECT `+accountColumns+` FROM accounts WHERE username = ?`, username))
	if err != nil {
		return nil, fmt.Errorf("get account %q: %w", username, err)
	}
	return a, nil
}

func scanAccount(row rowScanner) (*parcelguard.Account, error) {
	var (
		a                 parcelguard.Account
		carrier           sql.NullString
		created, disabled int64
	)
	if err := row.Scan(&a.ID, &a.Username, &a.Name, &a.Role, &carrier, &a.PasswordHash, &created, &disabled); err != nil {
		return nil, dbErr(err)
	}
	a.CarrierID, a.CreatedAt, a.DisabledAt = carrier.String, fromNanos(created), fromNanos(disabled)
	return &a, nil
}

// CreateSession inserts s.
func (t *tx) CreateSession(ctx context.Context, s *parcelguard.Session) error {
	_, err := t.exec(ctx, `INSERT INTO sessions (token_hash, account_id, created_at, last_seen_at, expires_at)
		VALUES (?, ?, ?, ?, ?)`, s.TokenHash, s.AccountID, nanos(s.CreatedAt), nanos(s.LastSeenAt), nanos(s.ExpiresAt))
	if err != nil {
		return fmt.Errorf("create session of %s: %w", s.AccountID, dbErr(err))
	}
	return nil
}

// Session returns the session whose token hashes to tokenHash.
func (t *tx) Session(ctx context.Context, tokenHash []byte) (*parcelguard.Session, error) {
	var (
		s                         parcelguard.Session
		created, seen, expiration int64
	)
	err := t.queryRow(ctx, `SELECT token_hash, account_id, created_at, last_seen_at, expires_at
		FROM sessions WHERE token_hash = ?`, tokenHash).Scan(&s.TokenHash, &s.AccountID, &created, &seen, &expiration)
	if err != nil {
		return nil, fmt.Errorf("get session: %w", dbErr(err))
	}
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = fromNanos(created), fromNanos(seen), fromNanos(expiration)
	return &s, nil
}

// TouchSession records the session's last use.
func (t *tx) TouchSession(ctx context.Context, tokenHash []byte, lastSeen time.Time) error {
	res, err := t.exec(ctx, `UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?`, nanos(lastSeen), tokenHash)
	if err != nil {
		return fmt.Errorf("touch session: %w", dbErr(err))
	}
	if ok, err := updated(res); err != nil || !ok {
		return fmt.Errorf("touch session: %w", errors.Join(err, parcelguard.ErrNotFound))
	}
	return nil
}

// DeleteSession removes a session.
func (t *tx) DeleteSession(ctx context.Context, tokenHash []byte) error {
	if _, err := t.exec(ctx, `DELETE FROM sessions WHERE token_hash = ?`, tokenHash); err != nil {
		return fmt.Errorf("delete session: %w", dbErr(err))
	}
	return nil
}

// DeleteExpiredSessions removes sessions past their absolute expiry.
func (t *tx) DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	res, err := t.exec(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, nanos(now))
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", dbErr(err))
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// SignInGuard returns the guard of a sign-in key, or a zero one.
func (t *tx) SignInGuard(ctx context.Context, key string) (*parcelguard.SignInGuard, error) {
	g := parcelguard.SignInGuard{Key: key}
	var last, until int64
	err := t.queryRow(ctx, `SELECT failures, last_failure, blocked_until, version FROM signin_guards WHERE key = ?`, key).
		Scan(&g.Failures, &last, &until, &g.Version)
	if errors.Is(err, sql.ErrNoRows) {
		return &g, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get sign-in guard: %w", dbErr(err))
	}
	g.LastFailure, g.BlockedUntil = fromNanos(last), fromNanos(until)
	return &g, nil
}

// SaveSignInGuard inserts a guard at Version 0 or updates a current one.
func (t *tx) SaveSignInGuard(ctx context.Context, g *parcelguard.SignInGuard) error {
	if g.Version == 0 {
		_, err := t.exec(ctx, `INSERT INTO signin_guards (key, failures, last_failure, blocked_until, version)
			VALUES (?, ?, ?, ?, 1)`, g.Key, g.Failures, nanos(g.LastFailure), nanos(g.BlockedUntil))
		if err = dbErr(err); errors.Is(err, parcelguard.ErrDuplicate) {
			err = parcelguard.ErrConflict
		}
		if err != nil {
			return fmt.Errorf("save sign-in guard: %w", err)
		}
		g.Version = 1
		return nil
	}
	res, err := t.exec(ctx, `UPDATE signin_guards SET failures = ?, last_failure = ?, blocked_until = ?, version = version + 1
		WHERE key = ? AND version = ?`, g.Failures, nanos(g.LastFailure), nanos(g.BlockedUntil), g.Key, g.Version)
	if err := t.checkSaved(ctx, res, err, "signin_guards", "key", g.Key); err != nil {
		return fmt.Errorf("save sign-in guard: %w", err)
	}
	g.Version++
	return nil
}

// Accounts returns the accounts f selects, in user name order.
func (t *tx) Accounts(ctx context.Context, f parcelguard.AccountFilter) ([]*parcelguard.Account, error) {
	rows, err := t.query(ctx, `SELECT `+accountColumns+` FROM accounts
		WHERE (? = '' OR role = ?) AND (? = '' OR carrier_id = ?) AND username > ?
		ORDER BY username LIMIT ?`,
		string(f.Role), string(f.Role), f.CarrierID, f.CarrierID, f.After, limitArg(f.Limit))
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", dbErr(err))
	}
	defer rows.Close()
	var out []*parcelguard.Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, fmt.Errorf("list accounts: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list accounts: %w", dbErr(err))
	}
	return out, nil
}

// SetAccountDisabled disables an account at at, or enables it (zero at).
func (t *tx) SetAccountDisabled(ctx context.Context, id string, at time.Time) error {
	res, err := t.exec(ctx, `UPDATE accounts SET disabled_at = ? WHERE id = ?`, nanos(at), id)
	if err != nil {
		return fmt.Errorf("set account %s disabled: %w", id, dbErr(err))
	}
	if ok, err := updated(res); err != nil || !ok {
		return fmt.Errorf("set account %s disabled: %w", id, errors.Join(err, parcelguard.ErrNotFound))
	}
	return nil
}

// DeleteAccountSessions removes every session of an account.
func (t *tx) DeleteAccountSessions(ctx context.Context, accountID string) (int, error) {
	res, err := t.exec(ctx, `DELETE FROM sessions WHERE account_id = ?`, accountID)
	if err != nil {
		return 0, fmt.Errorf("delete sessions of %s: %w", accountID, dbErr(err))
	}
	n, err := res.RowsAffected()
	return int(n), err
}
