package parcelguard

import (
	"errors"
	"fmt"
	"time"
)

// Error codes classify failures so transports can map them to a status in one
// table. They are stable strings that also appear in problem+json types.
const (
	EINVALID      = "invalid"      // the request is malformed or breaks a rule
	ENOTFOUND     = "not_found"    // the thing does not exist or is not visible to the caller
	ECONFLICT     = "conflict"     // the thing is not in a state that allows the operation
	EUNAUTHORIZED = "unauthorized" // the caller is not authenticated
	EFORBIDDEN    = "forbidden"    // the caller may not do this
	EREJECTED     = "rejected"     // a code or credential was not accepted
	ELOCKED       = "locked"       // a credential was disabled after too many failures
	ETHROTTLED    = "throttled"    // too many attempts; retry later
	EUNAVAILABLE  = "unavailable"  // a dependency is down; retry later
	EINTERNAL     = "internal"     // a bug or an unexpected failure; details go to logs only
	// EPRECONDITION: a conditional change named a version that is no longer
	// current; ENOPRECONDITION: a change that must name the version it
	// changes did not.
	EPRECONDITION   = "precondition_failed"
	ENOPRECONDITION = "precondition_required"
)

// Error is the domain error. Message is safe to show to clients; wrapped
// causes are for logs.
type Error struct {
	Code    string
	Message string
	// Fields lists the offending input fields of an EINVALID error.
	Fields []FieldError
	// RetryAfter tells a throttled or unavailable caller when to come back.
	RetryAfter time.Duration
}

// FieldError names one invalid input field and what is wrong with it.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return e.Message
	}
	s := e.Message + ":"
	for i, f := range e.Fields {
		if i > 0 {
			s += ";"
		}
		s += " " + f.Field + " " + f.Message
	}
	return s
}

// Is makes errors.Is(err, ErrX) match any *Error with the same code and
// message, so a copied sentinel (with RetryAfter set, say) still matches.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && t.Message == e.Message
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an EINVALID error listing the offending fields.
func Invalid(fields ...FieldError) *Error {
	return &Error{Code: EINVALID, Message: "invalid input", Fields: fields}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the client-safe message of err; internal errors get a
// generic message so that no detail leaks.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// Sentinel errors that callers test with errors.Is.
var (
	ErrNotFound          = &Error{Code: ENOTFOUND, Message: "not found"}
	ErrIllegalTransition = &Error{Code: ECONFLICT, Message: "illegal state transition"}
	ErrConflict          = &Error{Code: ECONFLICT, Message: "concurrent update; retry"}
	ErrDuplicate         = &Error{Code: ECONFLICT, Message: "already exists"}
	ErrNoFreeCompartment = &Error{Code: ECONFLICT, Message: "no free compartment of a fitting size"}
	ErrCompartmentBusy   = &Error{Code: ECONFLICT, Message: "compartment is not free"}
	ErrStaleVersion      = &Error{Code: EPRECONDITION, Message: "changed since the version given; read it again"}
	ErrVersionRequired   = &Error{Code: ENOPRECONDITION, Message: "name the version you change (If-Match)"}
	// ErrCodeRejected is the one answer to a wrong code, a wrong second
	// factor, or a code for another locker, so that none can be told apart.
	ErrCodeRejected = &Error{Code: EREJECTED, Message: "code not accepted"}
	ErrCodeExpired  = &Error{Code: EREJECTED, Message: "code has expired"}
	ErrCodeLocked   = &Error{Code: ELOCKED, Message: "code disabled after too many failed attempts"}
	ErrThrottled    = &Error{Code: ETHROTTLED, Message: "too many failed attempts; try again later"}
	ErrUnauthorized = &Error{Code: EUNAUTHORIZED, Message: "authentication required"}
	ErrForbidden    = &Error{Code: EFORBIDDEN, Message: "not allowed"}
	ErrUnavailable  = &Error{Code: EUNAVAILABLE, Message: "service temporarily unavailable"}
)

// Throttled returns ErrThrottled carrying when to retry.
func Throttled(retryAfter time.Duration) *Error {
	e := *ErrThrottled
	e.RetryAfter = retryAfter
	return &e
}
