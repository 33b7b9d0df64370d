package parcelguard

import "time"

// RoleRecipient is the role of a parcel's recipient acting through a
// magic link. No API key can carry it (Role.Valid is false for it); only
// the recipient-link use cases construct it, for audit actors.
const RoleRecipient Role = "recipient"

// Recipient link and deadline extension policy.
const (
	// RecipientLinkGrace is how long after the storage deadline a
	// recipient link keeps working (to see what became of the parcel).
	RecipientLinkGrace = 7 * 24 * time.Hour
	// RecipientLinkUndeposited is how long a link minted before the parcel
	// has a deadline (announced, on its way) stays valid.
	RecipientLinkUndeposited = 30 * 24 * time.Hour
	// DeadlineExtension is how much a recipient may extend the deadline.
	DeadlineExtension = 24 * time.Hour
	// DefaultAllowExtension says whether carriers allow a recipient to
	// extend the deadline once. Carriers have no per-carrier setting yet;
	// when Carrier grows one, CarrierAllowsExtension reads it.
	DefaultAllowExtension = true
)

// EventParcelExtended records a recipient's one-time deadline extension.
const EventParcelExtended EventKind = "parcel.extended"

// CarrierAllowsExtension reports whether the carrier lets recipients
// extend the storage deadline once by DeadlineExtension.
func CarrierAllowsExtension(*Carrier) bool { return DefaultAllowExtension }
