package parcelguard

import "time"

// Role is what an API credential may act as (SECURITY.md 13).
type Role string

// Roles.
const (
	RoleAdmin    Role = "admin"
	RoleOperator Role = "operator"
	RoleCarrier  Role = "carrier"
	RoleCourier  Role = "courier"
	RoleKiosk    Role = "kiosk"
	// RoleSystem is parcelguard itself: the scheduler and the local CLI.
	// No API key can carry it.
	RoleSystem Role = "system"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	switch r {
	case RoleAdmin, RoleOperator, RoleCarrier, RoleCourier, RoleKiosk:
		return true
	}
	return false
}

// APIKey is a stored API credential. The secret part is never stored; only
// its hash is, and the prefix identifies the key in logs and look-ups.
type APIKey struct {
	// Prefix is the public identifier of the key, such as "pgk_3f9a1c2e".
	Prefix string
	// SecretHash is the SHA-256 of the key's 256-bit random secret.
	SecretHash []byte
	Role       Role
	// CarrierID binds carrier and courier keys to their carrier.
	CarrierID string
	// SiteID binds kiosk keys to their locker.
	SiteID    string
	Name      string
	CreatedAt time.Time
	RevokedAt time.Time
}

// Principal is the authenticated caller of a use case.
type Principal struct {
	Role      Role
	KeyPrefix string
	CarrierID string
	SiteID    string
}

// Actor renders the principal for audit events.
func (p Principal) Actor() string {
	switch p.Role {
	case RoleCarrier, RoleCourier:
		return string(p.Role) + ":" + p.CarrierID + "/" + p.KeyPrefix
	case RoleKiosk:
		return "kiosk:" + p.SiteID
	case RoleSystem:
		return "system"
	case "":
		return "anonymous"
	}
	return string(p.Role) + ":" + p.KeyPrefix
}

// System is the principal of the scheduler and of local CLI commands. The
// zero Principal is nobody.
var System = Principal{Role: RoleSystem}
