package client

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// DoorstepPolicy is a carrier's rule for doorstep delivery passwords.
type DoorstepPolicy struct {
	CarrierID      string    `json:"carrier_id,omitempty"`
	ValueThreshold int64     `json:"value_threshold"`
	Currency       string    `json:"currency,omitempty"`
	Categories     []string  `json:"categories"`
	ShipmentFlag   bool      `json:"shipment_flag"`
	RecipientOptIn bool      `json:"recipient_opt_in"`
	MaxAttempts    int       `json:"max_attempts"`
	Fallback       string    `json:"fallback"`
	RadiusM        float64   `json:"radius_m"`
	LockerSearchM  float64   `json:"locker_search_m"`
	UpdatedAt      time.Time `json:"updated_at,omitzero"`
}

// NewDoorstepParcel announces a doorstep shipment.
type NewDoorstepParcel struct {
	TrackingNumber string    `json:"tracking_number"`
	Recipient      Recipient `json:"recipient"`
	Size           string    `json:"size"`
	DeclaredValue  int64     `json:"declared_value,omitempty"`
	Currency       string    `json:"currency,omitempty"`
	CarrierID      string    `json:"carrier_id,omitempty"`
	Address        string    `json:"address"`
	Lat            float64   `json:"lat"`
	Lon            float64   `json:"lon"`
	TimeZone       string    `json:"time_zone"`
	Country        string    `json:"country"`
	DeliveryDate   string    `json:"delivery_date,omitempty"`
	Categories     []string  `json:"categories,omitempty"`
	PasswordFlag   bool      `json:"password_flag,omitempty"`
	RecipientOptIn bool      `json:"recipient_opt_in,omitempty"`
}

// Doorstep is a doorstep delivery.
type Doorstep struct {
	Parcel           Parcel         `json:"parcel"`
	Address          string         `json:"address"`
	Lat              float64        `json:"lat"`
	Lon              float64        `json:"lon"`
	TimeZone         string         `json:"time_zone"`
	Country          string         `json:"country"`
	PasswordRequired bool           `json:"password_required"`
	PasswordReason   string         `json:"password_reason,omitempty"`
	DeliveryDate     string         `json:"delivery_date,omitempty"`
	RouteSeq         int            `json:"route_seq"`
	Attempts         int            `json:"attempts"`
	LastReason       string         `json:"last_reason,omitempty"`
	PasswordLocked   bool           `json:"password_locked"`
	Proof            *DoorstepProof `json:"proof,omitempty"`
}

// DoorstepProof records a completed doorstep handover.
type DoorstepProof struct {
	VerifiedBy   string    `json:"verified_by"`
	DelegateName string    `json:"delegate_name,omitempty"`
	PasswordID   string    `json:"password_id,omitempty"`
	Courier      string    `json:"courier"`
	Lat          float64   `json:"lat"`
	Lon          float64   `json:"lon"`
	DistanceM    float64   `json:"distance_m"`
	At           time.Time `json:"at"`
	Offline      bool      `json:"offline"`
	RecordedAt   time.Time `json:"recorded_at,omitzero"`
}

// OfflineEntry is a handover a courier recorded offline.
type OfflineEntry struct {
	ID         string    `json:"id"`
	ParcelID   string    `json:"parcel_id"`
	CarrierID  string    `json:"carrier_id"`
	Courier    string    `json:"courier"`
	Lat        float64   `json:"lat"`
	Lon        float64   `json:"lon"`
	RecordedAt time.Time `json:"recorded_at"`
	State      string    `json:"state"`
	Problems   []string  `json:"problems,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	VerifiedAt time.Time `json:"verified_at,omitzero"`
}

// DoorstepTracking is the recipient's view of a doorstep delivery.
type DoorstepTracking struct {
	DeliveryDate      string             `json:"delivery_date,omitempty"`
	PasswordRequired  bool               `json:"password_required"`
	Password          string             `json:"password,omitempty"`
	PasswordExpiresAt time.Time          `json:"password_expires_at,omitzero"`
	PasswordLocked    bool               `json:"password_locked"`
	Delegates         []DoorstepDelegate `json:"delegates"`
	Proof             *DoorstepProof     `json:"proof,omitempty"`
}

// DoorstepDelegate is a delegate delivery password.
type DoorstepDelegate struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	State     string    `json:"state"`
	Date      string    `json:"date"`
	ExpiresAt time.Time `json:"expires_at"`
	Password  string    `json:"password,omitempty"`
}

// NewDoorstepDelegate names a delegate, optionally with where to send the password.
type NewDoorstepDelegate struct {
	Name  string `json:"name"`
	Phone string `json:"phone,omitempty"`
	Email string `json:"email,omitempty"`
}

// DoorstepPolicy returns a carrier's doorstep policy.
func (c *Client) DoorstepPolicy(ctx context.Context, carrierID string) (*DoorstepPolicy, error) {
	var out DoorstepPolicy
	return result(&out, c.do(ctx, http.MethodGet, "/v1/carriers/"+seg(carrierID)+"/doorstep-policy", nil, nil, &out))
}

// SetDoorstepPolicy replaces a carrier's doorstep policy.
func (c *Client) SetDoorstepPolicy(ctx context.Context, carrierID string, in DoorstepPolicy) (*DoorstepPolicy, error) {
	var out DoorstepPolicy
	in.CarrierID, in.UpdatedAt = "", time.Time{}
	return result(&out, c.do(ctx, http.MethodPut, "/v1/carriers/"+seg(carrierID)+"/doorstep-policy", nil, in, &out))
}

// AnnounceDoorstep announces a doorstep shipment.
func (c *Client) AnnounceDoorstep(ctx context.Context, in NewDoorstepParcel, opts ...CallOption) (*Doorstep, error) {
	var out Doorstep
	return result(&out, c.do(ctx, http.MethodPost, "/v1/doorstep/parcels", nil, in, &out, opts...))
}

// Doorstep returns a doorstep delivery with its proof once delivered.
func (c *Client) Doorstep(ctx context.Context, id string) (*Doorstep, error) {
	var out Doorstep
	return result(&out, c.do(ctx, http.MethodGet, "/v1/doorstep/parcels/"+seg(id), nil, nil, &out))
}

// OutForDelivery sends a doorstep parcel out for delivery today.
func (c *Client) OutForDelivery(ctx context.Context, id string, routeSeq int, opts ...CallOption) (*Doorstep, error) {
	var out Doorstep
	return result(&out, c.do(ctx, http.MethodPost, "/v1/doorstep/parcels/"+seg(id)+"/out-for-delivery", nil,
		map[string]int{"route_seq": routeSeq}, &out, opts...))
}

// VerifyDoorstep submits the password the courier was told at lat, lon.
func (c *Client) VerifyDoorstep(ctx context.Context, id, password string, lat, lon float64, opts ...CallOption) (*DoorstepProof, error) {
	var out DoorstepProof
	body := map[string]any{"lat": lat, "lon": lon}
	if password != "" {
		body["password"] = password
	}
	return result(&out, c.do(ctx, http.MethodPost, "/v1/doorstep/parcels/"+seg(id)+"/verify", nil, body, &out, opts...))
}

// FailAttempt records a failed delivery attempt with its reason.
func (c *Client) FailAttempt(ctx context.Context, id, reason string, lat, lon float64, opts ...CallOption) (*Doorstep, error) {
	var out Doorstep
	return result(&out, c.do(ctx, http.MethodPost, "/v1/doorstep/parcels/"+seg(id)+"/attempts", nil,
		map[string]any{"reason": reason, "lat": lat, "lon": lon}, &out, opts...))
}

// SubmitOffline syncs a handover recorded offline.
func (c *Client) SubmitOffline(ctx context.Context, id, password string, lat, lon float64, recordedAt time.Time, opts ...CallOption) (*OfflineEntry, error) {
	var out OfflineEntry
	return result(&out, c.do(ctx, http.MethodPost, "/v1/doorstep/parcels/"+seg(id)+"/offline", nil,
		map[string]any{"password": password, "lat": lat, "lon": lon, "recorded_at": recordedAt.UTC()}, &out, opts...))
}

// OfflineEntries lists offline handover records, optionally in one state.
func (c *Client) OfflineEntries(ctx context.Context, state string) ([]OfflineEntry, error) {
	q := url.Values{}
	if state != "" {
		q.Set("state", state)
	}
	var out Page[OfflineEntry]
	if err := c.do(ctx, http.MethodGet, "/v1/doorstep/offline", q, nil, &out); err != nil {
		return nil, err
	}
	return out.Items, nil
}

// DoorstepManifest lists a day's doorstep deliveries in route order; an
// empty date lists each delivery's today in its recipient's time zone.
func (c *Client) DoorstepManifest(ctx context.Context, date string) ([]Doorstep, error) {
	var out Page[Doorstep]
	if err := c.do(ctx, http.MethodGet, "/v1/doorstep/manifest", url.Values{"date": {date}}, nil, &out); err != nil {
		return nil, err
	}
	return out.Items, nil
}

// TrackDoorstep returns the recipient's delivery password and delegates
// (the client's token must be the recipient link).
func (c *Client) TrackDoorstep(ctx context.Context) (*DoorstepTracking, error) {
	var out DoorstepTracking
	return result(&out, c.do(ctx, http.MethodGet, "/v1/track/doorstep", nil, nil, &out))
}

// CreateDoorstepDelegate names a delegate and returns their password (once).
func (c *Client) CreateDoorstepDelegate(ctx context.Context, in NewDoorstepDelegate, opts ...CallOption) (*DoorstepDelegate, error) {
	var out DoorstepDelegate
	return result(&out, c.do(ctx, http.MethodPost, "/v1/track/doorstep/delegates", nil, in, &out, opts...))
}

// RevokeDoorstepDelegate withdraws a delegate's password.
func (c *Client) RevokeDoorstepDelegate(ctx context.Context, id string, opts ...CallOption) (*DoorstepDelegate, error) {
	var out DoorstepDelegate
	return result(&out, c.do(ctx, http.MethodPost, "/v1/track/doorstep/delegates/"+seg(id)+"/revoke", nil, nil, &out, opts...))
}
