// Package sqlcol converts domain values to and from the column encodings
// both SQL engines share: times as unix nanoseconds, optional references
// as NULL, event data as JSON text.
package sqlcol

import (
	"encoding/json"
	"fmt"
	"time"
)

// Nanos encodes t as unix nanoseconds, the zero time as 0. (The zero time's
// UnixNano is undefined, hence the special case.)
func Nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// FromNanos decodes what Nanos encoded, always in UTC.
func FromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// NullString stores an empty optional reference as NULL so that foreign
// keys accept it.
func NullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// NullBytes stores an empty byte slice as NULL, so nil round-trips.
func NullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// BytesOrNil normalises an empty blob read back to nil.
func BytesOrNil(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// DecodeData decodes an event's JSON data; "{}" decodes to nil so that an
// event without data round-trips.
func DecodeData(s string) (map[string]string, error) {
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("decode event data: %w", err)
	}
	if len(m) == 0 {
		return nil, nil
	}
	return m, nil
}
