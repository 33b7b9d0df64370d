package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	_ "modernc.org/sqlite" // database/sql driver "sqlite"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/devicemsg"
)

// schema is the agent's own small schema, not the cloud's: grants it may
// open doors for (ended grants stay as tombstones so a late grant.new for a
// revoked grant is refused), the event outbox, used command nonces, the
// locker's failure guard and settings.
const schema = `
CREATE TABLE IF NOT EXISTS grants (
    id          TEXT PRIMARY KEY,
    parcel_id   TEXT NOT NULL,
    compartment TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    state       TEXT NOT NULL,
    key_id      TEXT NOT NULL,
    code_hash   BLOB,
    phone_hash  BLOB,
    failures    INTEGER NOT NULL DEFAULT 0,
    not_before  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX IF NOT EXISTS grants_code ON grants (code_hash);
CREATE TABLE IF NOT EXISTS outbox (
    seq   INTEGER PRIMARY KEY AUTOINCREMENT,
    id    TEXT NOT NULL UNIQUE,
    body  BLOB NOT NULL,
    hash  BLOB NOT NULL,
    sent  INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE TABLE IF NOT EXISTS nonces (
    nonce      TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS guard (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    failures      INTEGER NOT NULL,
    window_start  INTEGER NOT NULL,
    last_failure  INTEGER NOT NULL,
    blocked_until INTEGER NOT NULL,
    alarmed       INTEGER NOT NULL,
    slow_until    INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE TABLE IF NOT EXISTS compartments (
    id    TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    lock  INTEGER NOT NULL UNIQUE
) STRICT;
CREATE TABLE IF NOT EXISTS settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
`

// store is the agent's local database. One connection: the agent is one
// process with little traffic, and a single connection makes every
// transaction serial, so a grant is used at most once without further
// locking.
type store struct{ db *sql.DB }

func openStore(ctx context.Context, path string) (*store, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(5000)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open agent store %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("open agent store %s: %w", path, err)
	}
	if err := upgradeGuard(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("open agent store %s: upgrade guard: %w", path, err)
	}
	return &store{db: db}, nil
}

// upgradeGuard adds the guard's slow_until column to a store made before
// the slow detector; such a guard starts with its slow level drained.
func upgradeGuard(ctx context.Context, db *sql.DB) error {
	var n int
	err := db.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info('guard') WHERE name = 'slow_until'`).Scan(&n)
	if err != nil || n > 0 {
		return err
	}
	_, err = db.ExecContext(ctx, `ALTER TABLE guard ADD COLUMN slow_until INTEGER NOT NULL DEFAULT 0`)
	return err
}

func (s *store) Close() error { return s.db.Close() }

// tx runs fn in one transaction.
func (s *store) tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("agent store: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("agent store: commit: %w", err)
	}
	return nil
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

const grantColumns = `id, parcel_id, compartment, purpose, state, key_id, code_hash, phone_hash, failures, not_before, expires_at, used_at`

func scanGrant(r interface{ Scan(...any) error }) (*parcelguard.Grant, error) {
	var (
		g                parcelguard.Grant
		purpose, state   string
		nbf, exp, usedAt int64
	)
	if err := r.Scan(&g.ID, &g.ParcelID, &g.CompartmentID, &purpose, &state, &g.KeyID, &g.CodeHash, &g.PhoneHash,
		&g.Failures, &nbf, &exp, &usedAt); err != nil {
		return nil, err
	}
	g.Purpose, g.State = parcelguard.GrantPurpose(purpose), parcelguard.GrantState(state)
	g.NotBefore, g.ExpiresAt, g.UsedAt = fromNanos(nbf), fromNanos(exp), fromNanos(usedAt)
	return &g, nil
}

// grant returns one grant, or parcelguard.ErrNotFound.
func grant(ctx context.Context, tx *sql.Tx, id string) (*parcelguard.Grant, error) {
	g, err := scanGrant(tx.QueryRowContext(ctx, `SELECT `+grantColumns+` FROM grants WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, parcelguard.ErrNotFound
	}
	return g, err
}

// activeGrantsByCode returns the active grants of purpose whose code hash
// is one of hashes.
func activeGrantsByCode(ctx context.Context, tx *sql.Tx, purpose parcelguard.GrantPurpose, hashes [][]byte) ([]*parcelguard.Grant, error) {
	var out []*parcelguard.Grant
	for _, h := range hashes {
		rows, err := tx.QueryContext(ctx, `SELECT `+grantColumns+` FROM grants WHERE code_hash = ? AND purpose = ? AND state = 'active'`, h, string(purpose))
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			g, err := scanGrant(rows)
			if err != nil {
				rows.Close()
				return nil, err
			}
			out = append(out, g)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// putGrant inserts or replaces g.
func putGrant(ctx context.Context, tx *sql.Tx, g *parcelguard.Grant) error {
	_, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO grants (`+grantColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		g.ID, g.ParcelID, g.CompartmentID, string(g.Purpose), string(g.State), g.KeyID, g.CodeHash, g.PhoneHash,
		g.Failures, nanos(g.NotBefore), nanos(g.ExpiresAt), nanos(g.UsedAt))
	return err
}

func loadGuard(ctx context.Context, tx *sql.Tx) (*parcelguard.LockerGuard, error) {
	var (
		g                      parcelguard.LockerGuard
		ws, lf, bu, alarmd, su int64
	)
	err := tx.QueryRowContext(ctx, `SELECT failures, window_start, last_failure, blocked_until, alarmed, slow_until FROM guard WHERE id = 1`).
		Scan(&g.Failures, &ws, &lf, &bu, &alarmd, &su)
	if errors.Is(err, sql.ErrNoRows) {
		return &g, nil
	}
	if err != nil {
		return nil, err
	}
	g.WindowStart, g.LastFailure, g.BlockedUntil, g.Alarmed = fromNanos(ws), fromNanos(lf), fromNanos(bu), alarmd != 0
	g.SlowUntil = fromNanos(su)
	return &g, nil
}

func saveGuard(ctx context.Context, tx *sql.Tx, g *parcelguard.LockerGuard) error {
	alarmed := 0
	if g.Alarmed {
		alarmed = 1
	}
	_, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO guard (id, failures, window_start, last_failure, blocked_until, alarmed, slow_until)
		VALUES (1, ?, ?, ?, ?, ?, ?)`, g.Failures, nanos(g.WindowStart), nanos(g.LastFailure), nanos(g.BlockedUntil), alarmed, nanos(g.SlowUntil))
	return err
}

// enqueue appends ev to the outbox in tx, numbering it: Seq is the outbox
// row's sequence, so the locker's events are numbered without gaps. The
// outbox is also the locker's audit trail: rows are never deleted, and each
// row's hash chains it to the previous one (chainHash), so VerifyChain
// detects an edited, removed or reordered event.
func enqueue(ctx context.Context, tx *sql.Tx, ev *devicemsg.Event) error {
	var (
		last int64
		prev []byte
	)
	err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM outbox ORDER BY seq DESC LIMIT 1`).Scan(&last, &prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	ev.Seq = uint64(last + 1)
	b, err := devicemsg.EncodeEvent(*ev)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO outbox (seq, id, body, hash) VALUES (?, ?, ?, ?)`, last+1, ev.ID, b, chainHash(prev, b))
	return err
}

// chainHash links an event's encoding to the previous event's hash.
func chainHash(prev, body []byte) []byte {
	h := sha256.New()
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(prev)))
	h.Write(n[:])
	h.Write(prev)
	h.Write(body)
	return h.Sum(nil)
}

// ErrChainBroken reports an outbox whose hash chain does not verify.
var ErrChainBroken = errors.New("agent audit chain broken")

// verifyChain walks the outbox in order and checks every link, the
// numbering and that each body still decodes to its seq.
func (s *store) verifyChain(ctx context.Context) (int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT seq, body, hash FROM outbox ORDER BY seq`)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var prev []byte
	n := 0
	for rows.Next() {
		var (
			seq        int64
			body, hash []byte
		)
		if err := rows.Scan(&seq, &body, &hash); err != nil {
			return n, err
		}
		n++
		ev, err := devicemsg.DecodeEvent(body)
		if err != nil || seq != int64(n) || ev.Seq != uint64(n) || !bytes.Equal(hash, chainHash(prev, body)) {
			return n, fmt.Errorf("%w at event %d", ErrChainBroken, n)
		}
		prev = hash
	}
	return n, rows.Err()
}

// pendingEvents returns up to limit unsent events in order.
func (s *store) pendingEvents(ctx context.Context, limit int) ([]devicemsg.Event, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT body FROM outbox WHERE sent = 0 ORDER BY seq LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []devicemsg.Event
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return nil, err
		}
		ev, err := devicemsg.DecodeEvent(b)
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	return out, rows.Err()
}

func (s *store) markSent(ctx context.Context, id string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE outbox SET sent = 1 WHERE id = ?`, id)
	return err
}

func (s *store) lastSeq(ctx context.Context) (uint64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM outbox`).Scan(&n)
	return uint64(n), err
}

// nonceStore is the persistent devicemsg.NonceStore: a restart does not
// reopen the replay window.
type nonceStore struct {
	s   *store
	now func() time.Time
}

// UseNonce implements devicemsg.NonceStore.
func (n nonceStore) UseNonce(ctx context.Context, nonce devicemsg.Nonce, expiresAt time.Time) error {
	return n.s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM nonces WHERE expires_at <= ?`, nanos(n.now())); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO nonces (nonce, expires_at) VALUES (?, ?) ON CONFLICT (nonce) DO NOTHING`,
			nonce.String(), nanos(expiresAt))
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return fmt.Errorf("nonce %s: %w", nonce, devicemsg.ErrReplay)
		}
		return nil
	})
}

// compartments returns the compartments learned from config commands.
func (s *store) compartments(ctx context.Context) ([]Compartment, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, label, lock FROM compartments ORDER BY lock`)
	if err != nil {
		return nil, fmt.Errorf("agent store: compartments: %w", err)
	}
	defer rows.Close()
	var out []Compartment
	for rows.Next() {
		var c Compartment
		if err := rows.Scan(&c.ID, &c.Label, &c.Lock); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
