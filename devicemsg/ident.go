package devicemsg

import (
	"errors"
	"fmt"
)

// ErrMalformed reports a message that does not decode or breaks a rule of
// the contract. Errors wrapping it name the offending field.
var ErrMalformed = errors.New("malformed device message")

// MaxIDLen bounds every identifier in the contract.
const MaxIDLen = 64

// ValidID reports whether s is 1 to MaxIDLen characters of [A-Za-z0-9_-].
// Identifiers become NATS subject tokens, MQTT topic levels and JetStream
// consumer names, so they must never contain '.', '*', '>', '/', '+', '#'
// or white space: a locker id of "*" would otherwise widen a permission.
func ValidID(s string) bool {
	if len(s) == 0 || len(s) > MaxIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// checkID returns a malformed error naming field unless s is a valid id.
func checkID(field, s string) error {
	if !ValidID(s) {
		return fmt.Errorf("%w: %s must be 1 to %d characters of [A-Za-z0-9_-]", ErrMalformed, field, MaxIDLen)
	}
	return nil
}

// checkText bounds free text such as reasons: at most max bytes of valid,
// printable UTF-8 without control characters (they end up in logs).
func checkText(field, s string, max int, required bool) error {
	if required && s == "" {
		return fmt.Errorf("%w: %s is required", ErrMalformed, field)
	}
	if len(s) > max {
		return fmt.Errorf("%w: %s must be at most %d bytes", ErrMalformed, field, max)
	}
	for _, r := range s {
		if r == 0xFFFD || r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w: %s contains a control or invalid character", ErrMalformed, field)
		}
	}
	return nil
}
