package main

import (
	"context"
	"fmt"
)

func runMigrate(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "migrate", "Applies the embedded database migrations (serve does this at start too).")
	var sf storeFlags
	sf.register(fs)
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	db, err := sf.openStore(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	v, err := db.Version(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "database %s at schema version %d\n", sf.dbPath(), v)
	return nil
}
