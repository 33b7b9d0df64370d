package parcelguard

import (
	"context"
	"time"
)

// DeviceTx is the part of Tx for the device channel: provisioned lockers and
// their last contact, the outbox of commands to lockers, and the ids of
// locker events already applied (so each is applied exactly once).
type DeviceTx interface {
	// SaveLocker inserts or replaces the locker record of l.SiteID.
	SaveLocker(ctx context.Context, l *Locker) error
	// Locker returns the locker record of a site, or ErrNotFound.
	Locker(ctx context.Context, siteID string) (*Locker, error)
	// Lockers returns every provisioned locker, by site id.
	Lockers(ctx context.Context) ([]*Locker, error)
	// TouchLocker records contact from the locker at at: LastSeenAt only
	// moves forward. ErrNotFound if the site has no locker.
	TouchLocker(ctx context.Context, siteID string, at time.Time) error

	// MarkDeviceEventApplied records that the locker event e was applied.
	// It reports false, storing nothing, if an event with e.ID was already
	// recorded: the caller then must not apply it again.
	MarkDeviceEventApplied(ctx context.Context, e *AppliedDeviceEvent) (bool, error)
	// AppliedDeviceEvents lists the applied events of a site in the order
	// the locker numbered them (ascending Seq).
	AppliedDeviceEvents(ctx context.Context, siteID string) ([]*AppliedDeviceEvent, error)

	// EnqueueDeviceCommand stores c as pending (filling in an empty State
	// and DueAt). A command whose IdempotencyKey is already stored is not
	// stored again: it reports false and no error.
	EnqueueDeviceCommand(ctx context.Context, c *DeviceCommand) (bool, error)
	// ClaimDeviceCommands leases up to limit pending commands due at or
	// before now and not leased beyond now, oldest first (by ID); a command
	// is claimed by at most one transaction at a time.
	ClaimDeviceCommands(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]*DeviceCommand, error)
	// MarkDeviceCommandsSent marks each pending command of ids sent at at,
	// in as few statements as the engine can: the dispatcher records a
	// whole batch of deliveries in one transaction. A command already sent
	// is left alone; if an id is unknown it fails with ErrNotFound.
	MarkDeviceCommandsSent(ctx context.Context, ids []string, at time.Time) error
	// MarkDeviceCommandRetry releases the lease and makes the command due
	// again at at. ErrConflict unless the command is pending under lease.
	MarkDeviceCommandRetry(ctx context.Context, id, lease string, at time.Time, lastErr string) error
	// DeviceCommands lists commands, oldest first.
	DeviceCommands(ctx context.Context, f DeviceCommandFilter) ([]*DeviceCommand, error)
}

// Locker is a provisioned locker agent: the site it serves and the hash of
// its device-channel password. The clear password is handed to the agent
// once and never stored.
type Locker struct {
	SiteID string
	// User is the locker's device-channel user name.
	User string
	// PasswordHash is the bcrypt hash of the locker's password.
	PasswordHash  string
	ProvisionedAt time.Time
	// LastSeenAt is the latest contact (any event or heartbeat); zero if
	// the locker never reported.
	LastSeenAt time.Time
}

// AppliedDeviceEvent records one locker event the cloud applied.
type AppliedDeviceEvent struct {
	// ID is the event id the locker gave it.
	ID     string
	SiteID string
	// Seq is the locker's own numbering of its events.
	Seq       int64
	Kind      string
	At        time.Time
	AppliedAt time.Time
}

// DeviceCommandKind names a command to a locker, as in the device contract.
type DeviceCommandKind string

// Device command kinds. There is no kind that opens more than one door.
const (
	DeviceGrantNew    DeviceCommandKind = "grant.new"
	DeviceGrantRevoke DeviceCommandKind = "grant.revoke"
	DeviceDoorOpen    DeviceCommandKind = "door.open"
	DeviceConfig      DeviceCommandKind = "config"
)

// DeviceCommandState is where a command is in its delivery.
type DeviceCommandState string

// Device command states.
const (
	DeviceCommandPending DeviceCommandState = "pending"
	DeviceCommandSent    DeviceCommandState = "sent"
)

// DeviceCommand is one command in the transactional device outbox, written
// in the transaction of the change that causes it. It holds no secret: the
// dispatcher builds, hashes and signs the wire command at send time.
type DeviceCommand struct {
	ID string
	// IdempotencyKey names the cause ("grant.new:<grant id>").
	IdempotencyKey string
	SiteID         string
	Kind           DeviceCommandKind
	GrantID        string
	// Data holds the payload details (compartment, reason, settings).
	Data        map[string]string
	State       DeviceCommandState
	DueAt       time.Time
	LeasedUntil time.Time
	Lease       string
	Attempts    int
	LastError   string
	CreatedAt   time.Time
	SentAt      time.Time
}

// DeviceCommandFilter selects device commands; zero fields do not filter.
type DeviceCommandFilter struct {
	SiteID string
	State  DeviceCommandState
	Limit  int
}

// Audit event kinds of the device channel. Alarms from a locker keep the
// locker's own kind (such as "alarm.forced_open").
const (
	EventLockerProvisioned EventKind = "locker.provisioned"
	EventDoorClosed        EventKind = "door.closed"
	EventDoorRemoteOpen    EventKind = "door.remote_open"
	// EventDepositCodeIssued records a courier's code for depositing a
	// reserved parcel at a locker agent (offline if need be).
	EventDepositCodeIssued EventKind = "deposit_code.issued"
	// EventLockerConfigured records settings an operator sent to a locker.
	EventLockerConfigured EventKind = "locker.configured"
	// EventDeviceRejected records a locker event that could not be applied
	// (unknown grant, another site's grant); it is kept, not retried.
	EventDeviceRejected EventKind = "device.rejected"
	// EventDeviceConflict records a locker event that contradicts the
	// cloud's state, such as a grant used at the locker and in the cloud.
	EventDeviceConflict EventKind = "alarm.device_conflict"
)
