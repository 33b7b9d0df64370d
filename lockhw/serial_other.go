//go:build !linux

package lockhw

import (
	"errors"
	"os"
)

// OpenSerial is implemented on Linux only, where the locker agents run.
func OpenSerial(path string) (*os.File, error) {
	return nil, errors.New("lockhw: serial ports are supported on linux only")
}
