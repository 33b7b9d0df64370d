package nats

import (
	"fmt"
	"strings"

	"github.com/parcelguard/parcelguard/devicemsg"
)

// Stream and consumer names.
const (
	EventsStream   = "EVENTS"
	CommandsStream = "COMMANDS"
	// DefaultEventsDurable is the durable consumer the cloud instances share.
	DefaultEventsDurable = "cloud-events"
	// CloudUser is the user name of the cloud service.
	CloudUser = "cloud"
	// Account is the NATS account holding every user and both streams; one
	// account, because JetStream streams are per account and lockers must
	// reach their consumer.
	Account = "PG"
)

// Subject patterns of the streams.
const (
	eventsWildcard   = "pg.locker.*.events.>"
	commandsWildcard = "pg.locker.*.commands"
)

// EventSubject returns the subject a locker publishes an event of kind on.
func EventSubject(lockerID string, kind devicemsg.EventKind) string {
	return "pg.locker." + lockerID + ".events." + string(kind)
}

// CommandSubject returns the subject of a locker's commands.
func CommandSubject(lockerID string) string { return "pg.locker." + lockerID + ".commands" }

// InboxPrefix returns the locker's private inbox prefix. Lockers must not
// share _INBOX: a locker allowed to subscribe _INBOX.> would see the
// replies meant for others, including other lockers' commands.
func InboxPrefix(lockerID string) string { return "pg.inbox." + lockerID }

// LockerDurable returns the name of the locker's durable command consumer.
func LockerDurable(lockerID string) string { return "locker-" + lockerID }

// LockerUser returns the NATS and MQTT user name of a locker.
func LockerUser(lockerID string) string { return "locker-" + lockerID }

// parseEventSubject returns the locker id and kind a subject names.
func parseEventSubject(subject string) (lockerID string, kind devicemsg.EventKind, err error) {
	rest, ok := strings.CutPrefix(subject, "pg.locker.")
	if ok {
		lockerID, rest, ok = strings.Cut(rest, ".")
	}
	if ok {
		rest, ok = strings.CutPrefix(rest, "events.")
	}
	if !ok || !devicemsg.ValidID(lockerID) {
		return "", "", fmt.Errorf("subject %q is not an event subject", subject)
	}
	return lockerID, devicemsg.EventKind(rest), nil
}

// checkLockerID rejects ids that are not safe subject tokens.
func checkLockerID(id string) error {
	if !devicemsg.ValidID(id) {
		return fmt.Errorf("locker id %q must be 1 to %d characters of [A-Za-z0-9_-]", id, devicemsg.MaxIDLen)
	}
	return nil
}
