package postgres

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/parcelguard/parcelguard"
)

// saved interprets the outcome of a versioned UPDATE of the row whose
// column equals key. No row updated means the row is gone (ErrNotFound) or
// another transaction saved it first (ErrConflict); at READ COMMITTED a
// concurrent saver that has not committed yet is waited for, so a version
// check never passes on a row someone else is changing.
func (t *tx) saved(ctx context.Context, n int64, err error, table, column, key string) error {
	if err != nil {
		return dbErr(err)
	}
	if n > 0 {
		return nil
	}
	var found bool
	if err := t.queryRow(ctx, "SELECT EXISTS (SELECT 1 FROM "+table+" WHERE "+column+" = $1)", []any{key}, &found); err != nil {
		return dbErr(err)
	}
	if !found {
		return parcelguard.ErrNotFound
	}
	return parcelguard.ErrConflict
}

// A checked write fails its statement, and so the transaction, when it
// changed no row, with one of these markers in the error: its outcome then
// needs no round trip of its own, it can travel with the next statement or
// the COMMIT (laterChecked) and still fail the transaction as the contract
// wants.
const (
	markConflict = "parcelguard:conflict"
	markNotFound = "parcelguard:not_found"
)

// Outcomes of a checked write that changed no row although the row exists.
const (
	existsIsConflict = `'` + markConflict + `'`
	existsIsFine     = `'0'`
)

// checked wraps write (an UPDATE with its version check, or an INSERT ...
// ON CONFLICT DO NOTHING, without RETURNING) of the row of table whose
// column equals parameter key. The statement returns 0 when write changed
// a row; otherwise it fails: with markNotFound if the row does not exist,
// else as existing says (existsIsConflict, or existsIsFine to succeed).
//
// PostgreSQL has no RAISE outside PL/pgSQL, so the failure is a cast of
// the marker to int, which fails with the marker quoted in the message.
// The cast's operand depends on a subquery, so the planner cannot fold it
// (and fail) ahead of time; only the branch taken at run time is cast.
// At READ COMMITTED the write waits for a concurrent writer of the row and
// re-checks its version against what that one committed, as a plain
// UPDATE does. The existence check runs in the statement's snapshot, so it
// sees the row as it was when the statement started: right for an UPDATE
// of a row the caller read before, not for an insert (see checkedInsert).
func checked(write, table, column string, key int, existing string) string {
	return checkedWhere(write, table, column+` = $`+strconv.Itoa(key), existing)
}

// checkedWhere is checked for a row that where (over the write's
// parameters) finds, such as a two-column key.
func checkedWhere(write, table, where, existing string) string {
	return `WITH w AS (` + write + ` RETURNING 1)
	SELECT CASE WHEN EXISTS (SELECT FROM w) THEN 0
		ELSE (CASE WHEN EXISTS (SELECT FROM ` + table + ` WHERE ` + where + `)
			THEN ` + existing + ` ELSE '` + markNotFound + `' END)::int END`
}

// checkedInsert wraps write, an INSERT ... ON CONFLICT DO NOTHING without
// RETURNING, so that the statement fails with markConflict when it inserted
// nothing. The conflicting row may have been committed by a concurrent
// insert this one waited for, after the statement's snapshot was taken, so
// its existence is not checked again: nothing inserted means taken.
func checkedInsert(write string) string {
	return `WITH w AS (` + write + ` RETURNING 1)
	SELECT (CASE WHEN EXISTS (SELECT FROM w) THEN '0' ELSE '` + markConflict + `' END)::int`
}

// checkedErr turns a checked write's failure into the domain's sentinel.
func checkedErr(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == codeInvalidTextRepresentation {
		switch {
		case strings.Contains(pe.Message, markConflict):
			return parcelguard.ErrConflict
		case strings.Contains(pe.Message, markNotFound):
			return parcelguard.ErrNotFound
		}
	}
	return dbErr(err)
}

// readChecked reads a checked write's result.
func readChecked(br pgx.BatchResults) error {
	var zero int
	return checkedErr(br.QueryRow().Scan(&zero))
}

// laterChecked queues the checked write q (see checked) to go with the
// next statement or the COMMIT. Its failure, ErrConflict or ErrNotFound,
// fails the transaction there: the statement that carried it returns the
// error, or COMMIT does, and Update reports it, so a service that re-runs
// its fn on ErrConflict re-runs it from the start.
// undo (nil: none) takes back a Save's Version bump if the write fails,
// so that as with a write sent at once, Version moves only on success.
func (t *tx) laterChecked(what, q string, undo func(), args ...any) {
	t.pending = append(t.pending, deferred{sql: q, args: args, what: what, fn: readChecked, undo: undo})
}
