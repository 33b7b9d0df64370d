package postgres

import (
	"encoding/json"
	"fmt"
	"time"
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

// bytesOrNil normalises an empty bytea read back to nil.
func bytesOrNil(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// limitArg turns a filter's Limit into PostgreSQL's LIMIT argument, where
// NULL means no limit.
func limitArg(limit int) any {
	if limit <= 0 {
		return nil
	}
	return limit
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
