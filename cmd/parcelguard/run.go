package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

// command is one subcommand of the CLI.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *env, args []string) error
}

// env is what every command gets from the outside world, injected so tests
// run the real program in-process.
type env struct {
	getenv         func(string) string
	stdout, stderr io.Writer
}

// errUsage marks a command line that could not be understood; its message
// has already been printed with the usage.
var errUsage = errors.New("usage error")

// exitError carries a specific exit status (such as 1 for a broken audit chain).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func exitCode(err error) int {
	var e *exitError
	if errors.As(err, &e) {
		return e.code
	}
	if errors.Is(err, errUsage) || errors.Is(err, flag.ErrHelp) {
		return 2
	}
	return 1
}

func commands() []command {
	return []command{
		{"serve", "run the API service, scheduler and embedded stores", runServe},
		{"demo", "run the service with a seeded demo network and print what to try", runDemo},
		{"agent", "run the locker agent of one site (offline codes, lock board, doors, sync)", runAgent},
		{"migrate", "apply database migrations and print the schema version", runMigrate},
		{"admin", "administrative tasks: create-key", runAdmin},
		{"audit", "audit log tasks: verify", runAudit},
		{"bench", "measure the service against its storage floor on each store engine", runBench},
		{"sim", "simulate a locker network with attackers and check its invariants", runSim},
		{"version", "print the version", runVersion},
	}
}

// run is the whole program: it dispatches args to a subcommand.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	e := &env{getenv: getenv, stdout: stdout, stderr: stderr}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(stdout)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(ctx, e, args[1:])
			if errors.Is(err, flag.ErrHelp) {
				return nil
			}
			return err
		}
	}
	fmt.Fprintf(stderr, "unknown command %q\n\n", args[0])
	printUsage(stderr)
	return errUsage
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "parcelguard makes parcel handover provable: locker pickups with one-time codes, audited end to end.")
	fmt.Fprintln(w, "\nUsage: parcelguard <command> [flags]\n\nCommands:")
	cs := commands()
	sort.Slice(cs, func(i, j int) bool { return cs[i].name < cs[j].name })
	for _, c := range cs {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'parcelguard <command> --help' for the flags of a command.")
	fmt.Fprintln(w, "Every flag can also be set with an environment variable PARCELGUARD_<FLAG> (dashes as underscores).")
}

// newFlagSet returns a flag set for a subcommand whose usage lists each flag
// with its environment variable.
func newFlagSet(e *env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: parcelguard %s\n\n%s\n\nFlags:\n", name, synopsis)
		fs.VisitAll(func(f *flag.Flag) {
			def := ""
			if f.DefValue != "" {
				def = fmt.Sprintf(" (default %q)", f.DefValue)
			}
			fmt.Fprintf(e.stderr, "  --%s\n      %s%s\n      env %s\n", f.Name, f.Usage, def, envName(f.Name))
		})
	}
	return fs
}

// parseFlags parses args, taking any flag not given on the command line
// from its PARCELGUARD_* environment variable.
func parseFlags(e *env, fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.stderr, "unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return errUsage
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] {
			return
		}
		if v := e.getenv(envName(f.Name)); v != "" {
			if err := f.Value.Set(v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", envName(f.Name), v, err))
			}
		}
	})
	return errors.Join(errs...)
}

// flagSet reports whether the flag was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) { found = found || f.Name == name })
	return found
}

func envName(flagName string) string {
	return "PARCELGUARD_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

var version = "dev"

func runVersion(_ context.Context, e *env, _ []string) error {
	fmt.Fprintln(e.stdout, "parcelguard", version)
	return nil
}
