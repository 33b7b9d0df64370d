package main

import (
	"context"
	"fmt"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/service"
)

func runAdmin(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 && args[0] == "create-user" {
		return runCreateUser(ctx, e, args[1:])
	}
	if len(args) == 0 || args[0] != "create-key" {
		fmt.Fprintln(e.stderr, "Usage: parcelguard admin create-key --role ROLE [--carrier ID] [--site ID] [--name NAME]")
		fmt.Fprintln(e.stderr, "       parcelguard admin create-user --username NAME --role operator|admin|courier [--carrier ID] [--password-file FILE]")
		return errUsage
	}
	fs := newFlagSet(e, "admin create-key", "Creates an API key and prints its token once; only its hash is stored.")
	var sf storeFlags
	sf.register(fs)
	role := fs.String("role", "admin", "role of the key: admin, operator, carrier, courier or kiosk")
	carrier := fs.String("carrier", "", "carrier id (carrier and courier keys)")
	site := fs.String("site", "", "site id (kiosk keys)")
	name := fs.String("name", "", "a name to recognise the key by")
	if err := parseFlags(e, fs, args[1:]); err != nil {
		return err
	}
	svc, closeStore, err := openService(ctx, &sf)
	if err != nil {
		return err
	}
	defer closeStore()
	token, key, err := svc.CreateAPIKey(ctx, parcelguard.System, service.NewAPIKeyInput{
		Role: parcelguard.Role(*role), CarrierID: *carrier, SiteID: *site, Name: *name})
	if err != nil {
		return fmt.Errorf("create key: %w", err)
	}
	fmt.Fprintf(e.stderr, "Created %s key %s. Store the token now: it is not shown again.\n", key.Role, key.Prefix)
	fmt.Fprintln(e.stdout, token)
	return nil
}

// openService opens the store and keyring and returns a service on them.
func openService(ctx context.Context, sf *storeFlags) (*service.Service, func(), error) {
	keys, err := sf.loadKeys()
	if err != nil {
		return nil, nil, err
	}
	db, err := sf.openStore(ctx)
	if err != nil {
		return nil, nil, err
	}
	svc := service.New(service.Config{Store: db, Clock: parcelguard.SystemClock{}, Keys: keys})
	return svc, func() { db.Close() }, nil
}
