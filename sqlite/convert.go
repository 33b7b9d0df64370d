package sqlite

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/parcelguard/parcelguard"
	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// nanos encodes t as unix nanoseconds, the zero time as 0. (The zero time's
// UnixNano is undefined, hence the special case.)
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromNanos decodes what nanos encoded, always in UTC.
func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// nullString stores an empty optional reference as NULL so that foreign
// keys accept it.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// nullBytes stores an empty byte slice as NULL, so nil round-trips.
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// bytesOrNil normalises an empty blob read back to nil.
func bytesOrNil(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// boolInt stores a bool as 0 or 1 (STRICT tables have no BOOLEAN type).
func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// decodeData decodes an event's JSON data; "{}" decodes to nil so that an
// event without data round-trips.
func decodeData(s string) (map[string]string, error) {
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("decode event data: %w", err)
	}
	if len(m) == 0 {
		return nil, nil
	}
	return m, nil
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
