package sqlite

import (
	"context"
	"database/sql"
	"strings"

	"github.com/parcelguard/parcelguard"
)

// querier runs statements: a *sql.Tx for View, the writer's stmtCache for
// Update.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// tx implements parcelguard.Tx on one transaction.
type tx struct {
	q querier
	// shared is set for the writer's batch transaction, which several
	// Updates share. Statements then run under a context no caller can
	// cancel: the driver interrupts a statement whose context ends, and
	// SQLite may answer an interrupted write by rolling back the whole
	// transaction, which would take every other caller's writes with it.
	// The caller's context is still honoured between statements.
	shared bool
}

var _ parcelguard.Tx = (*tx)(nil)

// stmtCtx checks the caller's ctx and returns the context to run the next
// statement under.
func (t *tx) stmtCtx(ctx context.Context) (context.Context, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if t.shared {
		return context.WithoutCancel(ctx), nil
	}
	return ctx, nil
}

func (t *tx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	sctx, err := t.stmtCtx(ctx)
	if err != nil {
		return nil, err
	}
	return t.q.ExecContext(sctx, query, args...)
}

func (t *tx) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	sctx, err := t.stmtCtx(ctx)
	if err != nil {
		return nil, err
	}
	return t.q.QueryContext(sctx, query, args...)
}

// queryRow is like sql.Tx.QueryRowContext but fails early on a done ctx.
func (t *tx) queryRow(ctx context.Context, query string, args ...any) rowScanner {
	sctx, err := t.stmtCtx(ctx)
	if err != nil {
		return errRow{err}
	}
	return t.q.QueryRowContext(sctx, query, args...)
}

// rowScanner is what scan functions read from: *sql.Row or *sql.Rows.
type rowScanner interface {
	Scan(dest ...any) error
}

// errRow is a row that fails to scan with a fixed error.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// updated reports whether an UPDATE touched a row, for version checks.
func updated(res sql.Result) (bool, error) {
	n, err := res.RowsAffected()
	return n > 0, err
}

// exists reports whether the table has a row whose key column equals key.
// Save* use it after a versioned UPDATE matched nothing, to tell a missing
// row (ErrNotFound) from a stale version (ErrConflict).
func (t *tx) exists(ctx context.Context, table, column, key string) (bool, error) {
	var one int
	err := t.queryRow(ctx, "SELECT 1 FROM "+table+" WHERE "+column+" = ?", key).Scan(&one)
	if err == sql.ErrNoRows {
		return false, nil
	}
	return err == nil, err
}

// placeholders returns "?, ?, ?" for n arguments.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// limitArg turns a filter's Limit into SQLite's LIMIT argument, where a
// negative value means no limit.
func limitArg(limit int) int {
	if limit <= 0 {
		return -1
	}
	return limit
}

// checkSaved interprets the result of a versioned UPDATE of the row whose
// column equals key: no row matched means either the row is gone
// (ErrNotFound) or another transaction saved it first (ErrConflict).
func (t *tx) checkSaved(ctx context.Context, res sql.Result, err error, table, column, key string) error {
	if err != nil {
		return dbErr(err)
	}
	ok, err := updated(res)
	if err != nil {
		return err
	}
	if ok {
		return nil
	}
	found, err := t.exists(ctx, table, column, key)
	if err != nil {
		return dbErr(err)
	}
	if !found {
		return parcelguard.ErrNotFound
	}
	return parcelguard.ErrConflict
}
