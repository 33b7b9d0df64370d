package camera

import (
	"errors"
	"fmt"
)

// ErrUnreachable matches (errors.Is) every *UnreachableError.
var ErrUnreachable = errors.New("camera unreachable")

// UnreachableError says the video system could not be reached, or kept
// failing (timeouts, connection errors, 5xx, 429), through every attempt.
// The caller stores the event flagged "unrecorded".
type UnreachableError struct {
	Camera   string
	Attempts int
	// Err is the last attempt's failure.
	Err error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("camera %s unreachable after %d attempts: %v", e.Camera, e.Attempts, e.Err)
}

// Unwrap returns the last failure.
func (e *UnreachableError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrUnreachable) true.
func (e *UnreachableError) Is(target error) bool { return target == ErrUnreachable }

// ErrRejected marks a request the video system answered but refused or
// answered unusably (4xx other than 408/429, a malformed body, no id):
// retrying would not help, and the event is unrecorded all the same; it
// points at a misconfiguration (unknown camera, wrong secret).
var ErrRejected = errors.New("camera rejected the bookmark")

// ErrInvalid marks a bookmark request with an unusable camera id or label.
var ErrInvalid = errors.New("invalid bookmark request")

// Unrecorded reports whether err means the event has no bookmark; it is
// true for every non-nil error Bookmark returns.
func Unrecorded(err error) bool { return err != nil }
