// Command parcelguard runs the parcelguard service and its tools.
//
// main only parses the command line and wires adapters; see run.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "parcelguard:", err)
		os.Exit(exitCode(err))
	}
}
