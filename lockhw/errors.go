package lockhw

import "fmt"

// fmtErr wraps sentinel with a formatted context, keeping errors.Is working.
func fmtErr(sentinel error, format string, args ...any) error {
	return fmt.Errorf("lockhw: "+format+": %w", append(args, sentinel)...)
}
