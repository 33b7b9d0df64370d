package sqlite

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/internal/sqlcol"
	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// The shared column encodings (see internal/sqlcol).
var (
	nanos      = sqlcol.Nanos
	fromNanos  = sqlcol.FromNanos
	nullString = sqlcol.NullString
	nullBytes  = sqlcol.NullBytes
	bytesOrNil = sqlcol.BytesOrNil
	decodeData = sqlcol.DecodeData
)

// boolInt stores a bool as 0 or 1 (STRICT tables have no BOOLEAN type).
func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// dbErr translates driver errors into the domain's sentinels at the edge,
// keeping the driver's message for logs.
func dbErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return parcelguard.ErrNotFound
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w (%v)", parcelguard.ErrDuplicate, err)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			// A foreign key fails when a row refers to one that does
			// not exist, such as a parcel for an unknown carrier.
			return fmt.Errorf("%w: a referenced row does not exist (%v)", parcelguard.ErrNotFound, err)
		}
	}
	return err
}
