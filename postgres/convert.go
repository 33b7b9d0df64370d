package postgres

import (
	"github.com/parcelguard/parcelguard/internal/sqlcol"
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

// limitArg turns a filter's Limit into PostgreSQL's LIMIT argument, where
// NULL means no limit.
func limitArg(limit int) any {
	if limit <= 0 {
		return nil
	}
	return limit
}
