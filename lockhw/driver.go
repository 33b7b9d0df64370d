package lockhw

import (
	"context"

	"github.com/parcelguard/parcelguard"
)

// Driver controls the locks of one locker. Implementations are safe for
// concurrent use.
type Driver interface {
	// Locks returns how many locks the driver controls, numbered 1..Locks().
	Locks() int
	// Open pulses lock's bolt so its door can be opened. It returns
	// ErrJammed when the hardware reports that the bolt stayed engaged.
	// Open never consults the door sensor: a faulty sensor must not stand
	// between an authorised user and their compartment.
	Open(ctx context.Context, lock int) error
	// Status reads one lock's sensors.
	Status(ctx context.Context, lock int) (Status, error)
	// Statuses reads every lock's sensors, ordered by lock number. Boards
	// report all their channels in one reply, so this is the cheap way to
	// poll.
	Statuses(ctx context.Context) ([]Status, error)
	// Close releases the hardware; later calls fail with ErrClosed.
	Close() error
}

// Status is what the hardware reports about one lock at one moment.
//
// Real boards report two inputs per channel: a lock feedback switch on the
// bolt or hook, and a door sensor (a reed or micro switch on the door).
// Some add a cabinet tamper input. None report the health of a sensor
// directly, so SensorOK is what a driver can tell: false when a simulator
// injects a fault, when the readings are known to be unusable, or when the
// board does not answer at all (see door.Monitor.Poll).
type Status struct {
	// Lock is the lock number, from 1.
	Lock int
	// Locked reports that the bolt is engaged.
	Locked bool
	// DoorOpen reports that the door sensor sees the door open. It is only
	// meaningful when SensorOK is true.
	DoorOpen bool
	// SensorOK reports that the door sensor reading can be trusted.
	SensorOK bool
	// Tamper reports that the tamper input is active.
	Tamper bool
}

// Errors that callers test with errors.Is. They are domain errors so that a
// transport can map them without knowing about hardware.
var (
	// ErrNoSuchLock is returned for a lock number outside 1..Locks().
	ErrNoSuchLock = &parcelguard.Error{Code: parcelguard.EINVALID, Message: "no such lock"}
	// ErrJammed is returned by Open when the bolt did not release.
	ErrJammed = &parcelguard.Error{Code: parcelguard.ECONFLICT, Message: "lock did not release"}
	// ErrTimeout is returned when a board does not answer in time.
	ErrTimeout = &parcelguard.Error{Code: parcelguard.EUNAVAILABLE, Message: "lock board did not answer"}
	// ErrBadReply is returned when a board's answer is garbled, fails its
	// checksum, or comes from the wrong board or for the wrong command.
	ErrBadReply = &parcelguard.Error{Code: parcelguard.EUNAVAILABLE, Message: "lock board sent a bad reply"}
	// ErrClosed is returned by a driver after Close.
	ErrClosed = &parcelguard.Error{Code: parcelguard.EUNAVAILABLE, Message: "lock driver closed"}
)

// checkLock returns ErrNoSuchLock, with the offending number, unless lock is
// in 1..n.
func checkLock(lock, n int) error {
	if lock < 1 || lock > n {
		return fmtErr(ErrNoSuchLock, "lock %d of %d", lock, n)
	}
	return nil
}
