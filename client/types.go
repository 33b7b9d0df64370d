package client

import "time"

// The API's JSON shapes. They mirror the server's (package http) without
// importing it, so the client pulls in no server code.

// Site is a locker location.
type Site struct {
	ID                   string    `json:"id"`
	Name                 string    `json:"name"`
	Address              string    `json:"address"`
	Lat                  float64   `json:"lat"`
	Lon                  float64   `json:"lon"`
	TimeZone             string    `json:"time_zone,omitempty"`
	OpeningHours         string    `json:"opening_hours,omitempty"`
	StoragePeriodSeconds int64     `json:"storage_period_seconds,omitempty"`
	CreatedAt            time.Time `json:"created_at"`
	// DecommissionedAt is when the site left the network; zero while it
	// serves.
	DecommissionedAt time.Time `json:"decommissioned_at,omitzero"`
	// Version is what UpdateSite names to change this version only.
	Version int64 `json:"version"`
}

// NewSite is a site to create.
type NewSite struct {
	Name                 string  `json:"name"`
	Address              string  `json:"address"`
	Lat                  float64 `json:"lat"`
	Lon                  float64 `json:"lon"`
	TimeZone             string  `json:"time_zone,omitempty"`
	OpeningHours         string  `json:"opening_hours,omitempty"`
	StoragePeriodSeconds int64   `json:"storage_period_seconds,omitempty"`
}

// Compartment is one lockable door of a site.
type Compartment struct {
	ID       string `json:"id"`
	SiteID   string `json:"site_id"`
	Label    string `json:"label"`
	Size     string `json:"size"`
	WidthMM  int    `json:"width_mm"`
	HeightMM int    `json:"height_mm"`
	DepthMM  int    `json:"depth_mm"`
	State    string `json:"state"`
	ParcelID string `json:"parcel_id,omitempty"`
}

// NewCompartment is a compartment to add to a site.
type NewCompartment struct {
	Label    string `json:"label"`
	Size     string `json:"size"`
	WidthMM  int    `json:"width_mm,omitempty"`
	HeightMM int    `json:"height_mm,omitempty"`
	DepthMM  int    `json:"depth_mm,omitempty"`
}

// Compartment states a compartment can be set to.
const (
	CompartmentFree       = "free"
	CompartmentBlocked    = "blocked"
	CompartmentOutOfOrder = "out_of_order"
)

// Carrier is a company that hands parcels to parcelguard.
type Carrier struct {
	ID                   string    `json:"id"`
	Name                 string    `json:"name"`
	PhoneFactor          bool      `json:"phone_factor"`
	StoragePeriodSeconds int64     `json:"storage_period_seconds,omitempty"`
	CreatedAt            time.Time `json:"created_at"`
	// Version is what UpdateCarrier names to change this version only.
	Version int64 `json:"version"`
}

// NewCarrier is a carrier to create. A nil PhoneFactor means true.
type NewCarrier struct {
	Name                 string `json:"name"`
	PhoneFactor          *bool  `json:"phone_factor,omitempty"`
	StoragePeriodSeconds int64  `json:"storage_period_seconds,omitempty"`
}

// NewAPIKey is an API key to create.
type NewAPIKey struct {
	Role      string `json:"role"`
	CarrierID string `json:"carrier_id,omitempty"`
	SiteID    string `json:"site_id,omitempty"`
	Name      string `json:"name,omitempty"`
}

// APIKeyCreated is a new key with its token, shown only this once.
type APIKeyCreated struct {
	Token     string    `json:"token"`
	Warning   string    `json:"warning"`
	Prefix    string    `json:"prefix"`
	Role      string    `json:"role"`
	CarrierID string    `json:"carrier_id,omitempty"`
	SiteID    string    `json:"site_id,omitempty"`
	Name      string    `json:"name,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Parcel is a shipment. Recipient.Phone comes back masked.
type Parcel struct {
	ID             string    `json:"id"`
	CarrierID      string    `json:"carrier_id"`
	TrackingNumber string    `json:"tracking_number"`
	Recipient      Recipient `json:"recipient"`
	Size           string    `json:"size"`
	DeclaredValue  int64     `json:"declared_value"`
	Currency       string    `json:"currency,omitempty"`
	Mode           string    `json:"mode"`
	State          string    `json:"state"`
	SiteID         string    `json:"site_id,omitempty"`
	CompartmentID  string    `json:"compartment_id,omitempty"`
	Deadline       time.Time `json:"deadline,omitzero"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// Recipient is who a parcel is for.
type Recipient struct {
	Name     string `json:"name"`
	Phone    string `json:"phone"`
	Email    string `json:"email,omitempty"`
	Language string `json:"language,omitempty"`
}

// NewParcel is a parcel to announce.
type NewParcel struct {
	TrackingNumber string    `json:"tracking_number"`
	Recipient      Recipient `json:"recipient"`
	Size           string    `json:"size"`
	DeclaredValue  int64     `json:"declared_value,omitempty"`
	Currency       string    `json:"currency,omitempty"`
	Mode           string    `json:"mode,omitempty"`
	SiteID         string    `json:"site_id,omitempty"`
	CarrierID      string    `json:"carrier_id,omitempty"`
}

// ParcelQuery filters ListParcels; zero fields do not filter.
type ParcelQuery struct {
	State          string
	SiteID         string
	TrackingNumber string
	// Cursor is the NextCursor of the previous page.
	Cursor string
	// Limit is the page size (server default 100, at most 500).
	Limit int
}

// Page is one page of a list.
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// Event is one entry of an audit stream.
type Event struct {
	ID            string            `json:"id"`
	Stream        string            `json:"stream"`
	Seq           int64             `json:"seq"`
	At            time.Time         `json:"at"`
	Kind          string            `json:"kind"`
	SiteID        string            `json:"site_id,omitempty"`
	CompartmentID string            `json:"compartment_id,omitempty"`
	ParcelID      string            `json:"parcel_id,omitempty"`
	GrantID       string            `json:"grant_id,omitempty"`
	Actor         string            `json:"actor"`
	Data          map[string]string `json:"data,omitempty"`
	Hash          string            `json:"hash"`
}

// PickupResult tells the kiosk which door to open.
type PickupResult struct {
	ParcelID         string `json:"parcel_id"`
	CompartmentID    string `json:"compartment_id"`
	CompartmentLabel string `json:"compartment_label"`
}

// Tracking is what a recipient sees of their parcel.
type Tracking struct {
	ParcelID         string         `json:"parcel_id"`
	TrackingNumber   string         `json:"tracking_number"`
	Carrier          string         `json:"carrier"`
	State            string         `json:"state"`
	Mode             string         `json:"mode"`
	Size             string         `json:"size"`
	Deadline         time.Time      `json:"deadline,omitzero"`
	DeadlineExtended bool           `json:"deadline_extended"`
	CanExtend        bool           `json:"can_extend"`
	Locker           *TrackedLocker `json:"locker,omitempty"`
	Timeline         []TrackedEvent `json:"timeline"`
	LinkExpiresAt    time.Time      `json:"link_expires_at"`
}

// TrackedLocker is the locker a parcel waits in.
type TrackedLocker struct {
	ID           string  `json:"id"`
	Name         string  `json:"name"`
	Address      string  `json:"address"`
	Lat          float64 `json:"lat"`
	Lon          float64 `json:"lon"`
	TimeZone     string  `json:"time_zone,omitempty"`
	OpeningHours string  `json:"opening_hours,omitempty"`
	MapURL       string  `json:"map_url"`
}

// TrackedEvent is one public event of a parcel.
type TrackedEvent struct {
	At   time.Time `json:"at"`
	Kind string    `json:"kind"`
}

// PickupCode is the recipient's PIN and QR token.
type PickupCode struct {
	PIN                 string    `json:"pin"`
	QRToken             string    `json:"qr_token"`
	SiteID              string    `json:"site_id"`
	PhoneDigitsRequired bool      `json:"phone_digits_required"`
	ExpiresAt           time.Time `json:"expires_at"`
}

// Health is the answer of the health probes.
type Health struct {
	Status  string `json:"status"`
	Version string `json:"version"`
}
