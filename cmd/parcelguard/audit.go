package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"sort"

	"github.com/parcelguard/parcelguard/audit"
)

func runAudit(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprintln(e.stderr, "Usage: parcelguard audit verify [--data-dir DIR] [--db PATH]")
		return errUsage
	}
	fs := newFlagSet(e, "audit verify", "Walks every audit hash chain and reports the first broken link of each.\nExits 1 if any chain is broken.")
	var sf storeFlags
	sf.register(fs)
	if err := parseFlags(e, fs, args[1:]); err != nil {
		return err
	}
	db, err := sf.openStore(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	r, err := audit.Verify(ctx, db)
	if err != nil {
		return err
	}
	streams := make([]string, 0, len(r.Heads))
	for s := range r.Heads {
		streams = append(streams, s)
	}
	sort.Strings(streams)
	for _, s := range streams {
		fmt.Fprintf(e.stdout, "head %s %s\n", s, hex.EncodeToString(r.Heads[s]))
	}
	fmt.Fprintf(e.stdout, "checked %d events in %d streams\n", r.Events, r.Streams)
	if r.OK() {
		fmt.Fprintln(e.stdout, "audit log intact")
		return nil
	}
	for _, b := range r.Broken {
		fmt.Fprintln(e.stdout, "BROKEN:", b.Error())
	}
	return &exitError{code: 1, err: fmt.Errorf("audit log tampered: %d broken chain(s), first: %w", len(r.Broken), r.Broken[0])}
}
