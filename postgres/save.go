package postgres

import (
	"context"

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
