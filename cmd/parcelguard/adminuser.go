package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"strings"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/service"
)

// runCreateUser creates a web sign-in for the console or the courier app.
// The password never travels on the command line (where ps and shell
// history would keep it): it comes from a file, from
// PARCELGUARD_NEW_PASSWORD, or is generated and printed once.
func runCreateUser(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "admin create-user", "Creates a sign-in for the operator console (operator, admin) or the courier app\n(courier, bound to a carrier). The password comes from --password-file or\nPARCELGUARD_NEW_PASSWORD; without either a random one is generated and printed once.")
	var sf storeFlags
	sf.register(fs)
	username := fs.String("username", "", "user name (3 to 64 letters, digits, dots, dashes, underscores)")
	name := fs.String("name", "", "the person's name")
	role := fs.String("role", "operator", "operator, admin or courier")
	carrier := fs.String("carrier", "", "carrier id (couriers)")
	pwFile := fs.String("password-file", "", "file holding the password (first line)")
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	password, generated := "", false
	switch {
	case *pwFile != "":
		b, err := os.ReadFile(*pwFile)
		if err != nil {
			return fmt.Errorf("read password file: %w", err)
		}
		password, _, _ = strings.Cut(string(b), "\n")
		password = strings.TrimRight(password, "\r")
	case e.getenv("PARCELGUARD_NEW_PASSWORD") != "":
		password = e.getenv("PARCELGUARD_NEW_PASSWORD")
	default:
		password, generated = rand.Text(), true
	}
	svc, closeStore, err := openService(ctx, &sf)
	if err != nil {
		return err
	}
	defer closeStore()
	a, err := svc.CreateAccount(ctx, parcelguard.System, service.NewAccountInput{Username: *username, Name: *name,
		Password: password, Role: parcelguard.Role(*role), CarrierID: *carrier})
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	fmt.Fprintf(e.stderr, "Created %s %s (%s).\n", a.Role, a.Username, a.ID)
	if generated {
		fmt.Fprintf(e.stderr, "Its password is printed below once; only its hash is stored.\n")
		fmt.Fprintln(e.stdout, password)
	}
	return nil
}
