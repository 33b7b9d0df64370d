package devicemsg

import (
	"encoding/json"
	"fmt"
	"time"
)

// CommandKind names what the cloud asks a locker to do.
type CommandKind string

// Command kinds. There is deliberately no kind that opens more than one
// door (SECURITY.md 11): DoorOpen names exactly one compartment.
const (
	CommandGrantNew    CommandKind = "grant.new"
	CommandGrantRevoke CommandKind = "grant.revoke"
	CommandDoorOpen    CommandKind = "door.open"
	CommandConfig      CommandKind = "config"
)

// Valid reports whether k is a known command kind.
func (k CommandKind) Valid() bool {
	switch k {
	case CommandGrantNew, CommandGrantRevoke, CommandDoorOpen, CommandConfig:
		return true
	}
	return false
}

// Limits of a command.
const (
	MaxCommandBytes = 96 << 10
	MaxHashLen      = 64
	MaxReasonLen    = 200
	// MaxCommandLifetime bounds expires_at - issued_at. Grants live up to the
	// longest storage period (14 days) plus slack; the bound also bounds how
	// long a locker must remember nonces.
	MaxCommandLifetime = 15 * 24 * time.Hour
	// MaxDoorOpenLifetime bounds a remote open: an operator opens a door for
	// someone standing there now, so a queued open must not fire hours later
	// when the locker comes back online.
	MaxDoorOpenLifetime = 10 * time.Minute
)

// Purpose is what a grant lets its holder do.
type Purpose string

// Grant purposes, as in the domain's GrantPurpose.
const (
	PurposePickup  Purpose = "pickup"
	PurposeDeposit Purpose = "deposit"
	PurposeCollect Purpose = "collect"
)

// Valid reports whether p is a known purpose.
func (p Purpose) Valid() bool {
	return p == PurposePickup || p == PurposeDeposit || p == PurposeCollect
}

// Command is an instruction from the cloud to one locker. Exactly the
// payload field matching Kind is set. It travels only inside a
// SignedCommand.
type Command struct {
	ID string `json:"id"`
	// LockerID is the audience: the only locker that may act on it.
	LockerID  string      `json:"locker_id"`
	Kind      CommandKind `json:"kind"`
	Nonce     Nonce       `json:"nonce"`
	IssuedAt  time.Time   `json:"issued_at"`
	ExpiresAt time.Time   `json:"expires_at"`

	GrantNew    *GrantNew    `json:"grant_new,omitempty"`
	GrantRevoke *GrantRevoke `json:"grant_revoke,omitempty"`
	DoorOpen    *DoorOpen    `json:"door_open,omitempty"`
	Config      *Config      `json:"config,omitempty"`
}

// GrantNew gives the locker a grant to verify offline. It carries keyed
// hashes only, never a code.
type GrantNew struct {
	GrantID     string    `json:"grant_id"`
	ParcelID    string    `json:"parcel_id"`
	Compartment string    `json:"compartment"`
	Purpose     Purpose   `json:"purpose"`
	KeyID       string    `json:"key_id"`
	CodeHash    []byte    `json:"code_hash"`
	PhoneHash   []byte    `json:"phone_hash,omitempty"`
	NotBefore   time.Time `json:"not_before"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// GrantRevoke withdraws a grant the locker holds.
type GrantRevoke struct {
	GrantID string `json:"grant_id"`
	Reason  string `json:"reason"`
}

// DoorOpen opens ONE compartment remotely. It is a single string, not a
// list, so that no encoding of this command can open a second door.
type DoorOpen struct {
	Compartment string `json:"compartment"`
	Reason      string `json:"reason"`
}

// Config changes locker settings. The agent validates the keys it knows and
// rejects the rest. Compartments, when set, is the locker's whole
// compartment → lock map (compartments added to the site since
// provisioning); a compartment the locker knows keeps its lock. Sync, when
// set, lists every grant the locker should hold as the command was issued:
// the locker ends the active grants it holds that are not listed (used
// after a locker was offline longer than the command stream keeps
// commands, so revokes it missed are not lost).
type Config struct {
	Settings     map[string]string `json:"settings"`
	Compartments []CompartmentLock `json:"compartments,omitempty"`
	Sync         *GrantSync        `json:"sync,omitempty"`
}

// CompartmentLock maps a compartment to its lock on the lock board.
type CompartmentLock struct {
	ID    string `json:"id"`
	Label string `json:"label"`
	Lock  int    `json:"lock"`
}

// GrantSync is the set of grants a locker should hold.
type GrantSync struct {
	Active []string `json:"active"`
}

// Limits of a config command's lists.
const (
	MaxCompartments = 256
	MaxSyncGrants   = 2048
	MaxLock         = 4096
)

func (c *Config) validate() error {
	if err := checkData(c.Settings); err != nil {
		return err
	}
	if len(c.Compartments) > MaxCompartments {
		return fmt.Errorf("%w: config.compartments has more than %d entries", ErrMalformed, MaxCompartments)
	}
	ids, locks := map[string]bool{}, map[int]bool{}
	for _, m := range c.Compartments {
		if err := checkID("config.compartments.id", m.ID); err != nil {
			return err
		}
		if err := checkText("config.compartments.label", m.Label, 32, true); err != nil {
			return err
		}
		if m.Lock < 1 || m.Lock > MaxLock || ids[m.ID] || locks[m.Lock] {
			return fmt.Errorf("%w: config.compartments: %s on lock %d: locks must be 1 to %d, ids and locks unique", ErrMalformed, m.ID, m.Lock, MaxLock)
		}
		ids[m.ID], locks[m.Lock] = true, true
	}
	if c.Sync != nil {
		if len(c.Sync.Active) > MaxSyncGrants {
			return fmt.Errorf("%w: config.sync.active has more than %d entries", ErrMalformed, MaxSyncGrants)
		}
		for _, id := range c.Sync.Active {
			if err := checkID("config.sync.active", id); err != nil {
				return err
			}
		}
	}
	return nil
}

// Validate checks every field of c and that exactly the payload of its
// kind is present.
func (c *Command) Validate() error {
	if err := checkID("id", c.ID); err != nil {
		return err
	}
	if err := checkID("locker_id", c.LockerID); err != nil {
		return err
	}
	if !c.Kind.Valid() {
		return fmt.Errorf("%w: kind %q is unknown", ErrMalformed, c.Kind)
	}
	if c.Nonce.IsZero() {
		return fmt.Errorf("%w: nonce is required", ErrMalformed)
	}
	if err := checkTime("issued_at", c.IssuedAt); err != nil {
		return err
	}
	if err := checkTime("expires_at", c.ExpiresAt); err != nil {
		return err
	}
	life := c.ExpiresAt.Sub(c.IssuedAt)
	if life <= 0 || life > MaxCommandLifetime {
		return fmt.Errorf("%w: expires_at must be after issued_at and within %s", ErrMalformed, MaxCommandLifetime)
	}
	set := 0
	for _, p := range []bool{c.GrantNew != nil, c.GrantRevoke != nil, c.DoorOpen != nil, c.Config != nil} {
		if p {
			set++
		}
	}
	if set != 1 {
		return fmt.Errorf("%w: exactly one payload must be set, got %d", ErrMalformed, set)
	}
	switch c.Kind {
	case CommandGrantNew:
		if c.GrantNew == nil {
			return fmt.Errorf("%w: grant.new needs grant_new", ErrMalformed)
		}
		return c.GrantNew.validate()
	case CommandGrantRevoke:
		if c.GrantRevoke == nil {
			return fmt.Errorf("%w: grant.revoke needs grant_revoke", ErrMalformed)
		}
		if err := checkID("grant_revoke.grant_id", c.GrantRevoke.GrantID); err != nil {
			return err
		}
		return checkText("grant_revoke.reason", c.GrantRevoke.Reason, MaxReasonLen, false)
	case CommandDoorOpen:
		if c.DoorOpen == nil {
			return fmt.Errorf("%w: door.open needs door_open", ErrMalformed)
		}
		if life > MaxDoorOpenLifetime {
			return fmt.Errorf("%w: door.open must expire within %s", ErrMalformed, MaxDoorOpenLifetime)
		}
		if err := checkID("door_open.compartment", c.DoorOpen.Compartment); err != nil {
			return err
		}
		// A remote open is an exceptional act; the reason goes to the audit trail.
		return checkText("door_open.reason", c.DoorOpen.Reason, MaxReasonLen, true)
	default: // CommandConfig
		if c.Config == nil {
			return fmt.Errorf("%w: config needs config", ErrMalformed)
		}
		return c.Config.validate()
	}
}

func (g *GrantNew) validate() error {
	for field, id := range map[string]string{"grant_id": g.GrantID, "parcel_id": g.ParcelID, "compartment": g.Compartment, "key_id": g.KeyID} {
		if err := checkID("grant_new."+field, id); err != nil {
			return err
		}
	}
	if !g.Purpose.Valid() {
		return fmt.Errorf("%w: grant_new.purpose %q is unknown", ErrMalformed, g.Purpose)
	}
	if len(g.CodeHash) == 0 || len(g.CodeHash) > MaxHashLen || len(g.PhoneHash) > MaxHashLen {
		return fmt.Errorf("%w: grant_new hashes must be 1 to %d bytes", ErrMalformed, MaxHashLen)
	}
	if err := checkTime("grant_new.not_before", g.NotBefore); err != nil {
		return err
	}
	if err := checkTime("grant_new.expires_at", g.ExpiresAt); err != nil {
		return err
	}
	if !g.ExpiresAt.After(g.NotBefore) {
		return fmt.Errorf("%w: grant_new.expires_at must be after not_before", ErrMalformed)
	}
	return nil
}

// EncodeCommand validates c and encodes it as JSON, times in UTC.
func EncodeCommand(c Command) ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("encode command: %w", err)
	}
	c.IssuedAt, c.ExpiresAt = c.IssuedAt.UTC(), c.ExpiresAt.UTC()
	if g := c.GrantNew; g != nil {
		cp := *g
		cp.NotBefore, cp.ExpiresAt = g.NotBefore.UTC(), g.ExpiresAt.UTC()
		c.GrantNew = &cp
	}
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encode command: %w", err)
	}
	if len(b) > MaxCommandBytes {
		return nil, fmt.Errorf("encode command: %w: %d bytes exceeds %d", ErrMalformed, len(b), MaxCommandBytes)
	}
	return b, nil
}

// DecodeCommand decodes and validates one command. It does not check the
// signature: use Verifier on a SignedCommand to accept a command.
func DecodeCommand(b []byte) (Command, error) {
	var c Command
	if err := decodeStrict(b, MaxCommandBytes, &c); err != nil {
		return Command{}, fmt.Errorf("decode command: %w", err)
	}
	if err := c.Validate(); err != nil {
		return Command{}, fmt.Errorf("decode command: %w", err)
	}
	return c, nil
}
