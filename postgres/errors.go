package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/parcelguard/parcelguard"
)

// ErrClosed is returned by Update, View and Ping after Close.
var ErrClosed = errors.New("postgres: store is closed")

// SQLSTATE codes the store reacts to.
const (
	codeUniqueViolation      = "23505"
	codeForeignKeyViolation  = "23503"
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
	codeQueryCanceled        = "57014" // statement_timeout, or a cancel request
	codeAdminShutdown        = "57P01"
	codeCrashShutdown        = "57P02"
	codeCannotConnectNow     = "57P03"
	codeTooManyConnections   = "53300"
	codeReadOnlyTransaction  = "25006"
	// codeInvalidTextRepresentation is also how a checked write fails (see
	// checked).
	codeInvalidTextRepresentation = "22P02"
)

// dbErr translates driver errors into the domain's sentinels at the edge,
// keeping the driver's error in the chain (for logs, and for Update to
// recognise serialization failures however fn wrapped them).
func dbErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return parcelguard.ErrNotFound
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case codeUniqueViolation:
			return fmt.Errorf("%w (%w)", parcelguard.ErrDuplicate, err)
		case codeForeignKeyViolation:
			// A foreign key fails when a row refers to one that does not
			// exist, such as a parcel for an unknown carrier.
			return fmt.Errorf("%w: a referenced row does not exist (%w)", parcelguard.ErrNotFound, err)
		}
	}
	if unavailable(err) {
		return fmt.Errorf("%w: postgres: %w", parcelguard.ErrUnavailable, err)
	}
	return err
}

// unavailable reports whether err means the database cannot be reached or
// will not serve right now, as opposed to rejecting this request: those
// become parcelguard.ErrUnavailable (503 with Retry-After).
func unavailable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code[:2] == "08": // connection exception
			return true
		case pe.Code == codeAdminShutdown, pe.Code == codeCrashShutdown, pe.Code == codeCannotConnectNow,
			pe.Code == codeTooManyConnections, pe.Code == codeQueryCanceled:
			// A canceled query without a canceled context is the
			// statement_timeout: the database is too slow to serve.
			return true
		}
		return false
	}
	var (
		ce *pgconn.ConnectError
		ne net.Error
	)
	return errors.As(err, &ce) || errors.As(err, &ne) ||
		errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		pgconn.Timeout(err)
}

// retryable reports whether err means the transaction lost a race the
// database detected (serialization failure or deadlock): running it again
// from the start is expected to succeed.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == codeSerializationFailure || pe.Code == codeDeadlockDetected)
}
