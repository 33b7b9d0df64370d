package devicemsg

import (
	"fmt"
	"strconv"
)

// Settings a config command may carry. The cloud checks them before it
// queues a command and the agent again before it applies one, so an
// operator hears of a bad value at once instead of from a refused command.
const (
	// SettingHeartbeat is how often the agent sends heartbeats, in seconds
	// (1 to 3600).
	SettingHeartbeat = "heartbeat_seconds"
)

// ValidateSetting reports whether key is a known setting and value fits it.
func ValidateSetting(key, value string) error {
	switch key {
	case SettingHeartbeat:
		n, err := strconv.Atoi(value)
		if err != nil || n < 1 || n > 3600 {
			return fmt.Errorf("%w: %s must be a whole number of seconds from 1 to 3600", ErrMalformed, key)
		}
		return nil
	}
	return fmt.Errorf("%w: unknown setting %q", ErrMalformed, key)
}
