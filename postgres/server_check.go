package postgres

import (
	"context"
	"fmt"
)

// ServerWarnings reports the server settings, as they apply to this
// database, that undermine what the store promises: an acknowledged
// write on disk, and queue tables (the outbox, timers, device commands)
// that stay small because vacuum keeps reclaiming their dead rows. The
// service runs anyway; the operator should be told.
func (db *DB) ServerWarnings(ctx context.Context) ([]string, error) {
	settings := map[string]string{}
	rows, err := db.pool.Query(ctx, `SELECT name, setting FROM pg_settings WHERE name = ANY($1::text[])`,
		[]string{"fsync", "synchronous_commit", "autovacuum"})
	if err != nil {
		return nil, fmt.Errorf("read server settings: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, value string
		if err := rows.Scan(&name, &value); err != nil {
			return nil, fmt.Errorf("read server settings: %w", err)
		}
		settings[name] = value
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read server settings: %w", err)
	}
	return settingWarnings(settings), nil
}

// settingWarnings says what is wrong with settings (name to value, as
// pg_settings shows them), in a fixed order.
func settingWarnings(settings map[string]string) []string {
	var out []string
	if settings["fsync"] == "off" {
		out = append(out, "fsync is off: a crash of the database server's machine can lose or corrupt acknowledged writes (pickups, audit events)")
	}
	if settings["synchronous_commit"] == "off" {
		out = append(out, "synchronous_commit is off: a crash of the database server can lose the last writes the service acknowledged")
	}
	if settings["autovacuum"] == "off" {
		out = append(out, "autovacuum is off: the outbox, timers and device command tables have rows updated and deleted all day, and without vacuum they bloat and every claim slows down")
	}
	return out
}
