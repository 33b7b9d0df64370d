package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// SiteQuery asks for the sites near a point. RadiusM and Limit default
// on the server when zero.
type SiteQuery struct {
	Lat, Lon float64
	RadiusM  float64
	Size     string
	Limit    int
}

// SiteMatch is a site found near a point.
type SiteMatch struct {
	Site
	DistanceM        float64        `json:"distance_m"`
	FreeCompartments map[string]int `json:"free_compartments"`
	MapURL           string         `json:"map_url"`
}

// SiteUpdate changes the fields of a site that are set.
type SiteUpdate struct {
	Name                 *string  `json:"name,omitempty"`
	Address              *string  `json:"address,omitempty"`
	Lat                  *float64 `json:"lat,omitempty"`
	Lon                  *float64 `json:"lon,omitempty"`
	TimeZone             *string  `json:"time_zone,omitempty"`
	OpeningHours         *string  `json:"opening_hours,omitempty"`
	StoragePeriodSeconds *int64   `json:"storage_period_seconds,omitempty"`
}

// CarrierDetail is a carrier with its full-locker policy.
type CarrierDetail struct {
	Carrier
	Fallback             string `json:"fallback"`
	FallbackMaxDistanceM int    `json:"fallback_max_distance_m"`
}

// CarrierUpdate changes the fields of a carrier that are set.
type CarrierUpdate struct {
	Name                 *string `json:"name,omitempty"`
	PhoneFactor          *bool   `json:"phone_factor,omitempty"`
	StoragePeriodSeconds *int64  `json:"storage_period_seconds,omitempty"`
	Fallback             *string `json:"fallback,omitempty"`
	FallbackMaxDistanceM *int    `json:"fallback_max_distance_m,omitempty"`
}

// APIKey is a listed key (never its token).
type APIKey struct {
	Prefix    string    `json:"prefix"`
	Role      string    `json:"role"`
	CarrierID string    `json:"carrier_id,omitempty"`
	SiteID    string    `json:"site_id,omitempty"`
	Name      string    `json:"name,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
}

// Delegate is someone allowed to collect a parcel with a code of their own.
type Delegate struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Phone     string    `json:"phone,omitempty"`
	Email     string    `json:"email,omitempty"`
	State     string    `json:"state"`
	ExpiresAt time.Time `json:"expires_at"`
	CreatedAt time.Time `json:"created_at"`
}

// NewDelegate names a delegate and where to send their code.
type NewDelegate struct {
	Name  string `json:"name"`
	Phone string `json:"phone,omitempty"`
	Email string `json:"email,omitempty"`
}

// ManifestStop is one locker of a courier's manifest.
type ManifestStop struct {
	Site     Site     `json:"site"`
	Deposits []Parcel `json:"deposits"`
	Returns  []Parcel `json:"returns"`
}

// Manifest is a courier's work for today.
type Manifest struct {
	Day      string         `json:"day"`
	Lockers  []ManifestStop `json:"lockers"`
	Doorstep []Parcel       `json:"doorstep"`
}

// SearchSites finds lockers near a point, nearest first. It needs no token.
func (c *Client) SearchSites(ctx context.Context, q SiteQuery) ([]SiteMatch, error) {
	v := url.Values{}
	v.Set("lat", strconv.FormatFloat(q.Lat, 'f', -1, 64))
	v.Set("lon", strconv.FormatFloat(q.Lon, 'f', -1, 64))
	if q.RadiusM > 0 {
		v.Set("radius", strconv.FormatFloat(q.RadiusM, 'f', -1, 64))
	}
	if q.Size != "" {
		v.Set("size", q.Size)
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var out Page[SiteMatch]
	if err := c.do(ctx, http.MethodGet, "/v1/sites/search", v, nil, &out); err != nil {
		return nil, err
	}
	return out.Items, nil
}

// UpdateSite changes a site (operators) if it is still at version, the
// Version of the Site the caller read; else the error is a 412 (IsStale):
// read the site again and redo the change. AnyVersion overwrites whatever
// is current.
func (c *Client) UpdateSite(ctx context.Context, id string, version int64, in SiteUpdate) (*Site, error) {
	var out Site
	return result(&out, c.do(ctx, http.MethodPatch, "/v1/sites/"+seg(id), nil, in, &out, ifVersion(version)))
}

// DecommissionSite takes a site out of the network (operators). It is
// refused (409) while parcels wait for or are held at the site.
func (c *Client) DecommissionSite(ctx context.Context, id string) (*Site, error) {
	var out Site
	return result(&out, c.do(ctx, http.MethodDelete, "/v1/sites/"+seg(id), nil, nil, &out))
}

// RemoveCompartment takes a compartment out of its locker for good
// (operators). It is refused (409) while it holds or is reserved for a
// parcel.
func (c *Client) RemoveCompartment(ctx context.Context, id string) (*Compartment, error) {
	var out Compartment
	return result(&out, c.do(ctx, http.MethodDelete, "/v1/compartments/"+seg(id), nil, nil, &out))
}

// Carriers lists carriers with their policies, one page from cursor.
func (c *Client) Carriers(ctx context.Context, cursor string) (*Page[CarrierDetail], error) {
	v := url.Values{}
	if cursor != "" {
		v.Set("cursor", cursor)
	}
	var out Page[CarrierDetail]
	return result(&out, c.do(ctx, http.MethodGet, "/v1/carriers", v, nil, &out))
}

// UpdateCarrier changes a carrier and its full-locker policy (operators)
// if the carrier is still at version, the Version the caller read; else
// the error is a 412 (IsStale). AnyVersion overwrites whatever is current.
func (c *Client) UpdateCarrier(ctx context.Context, id string, version int64, in CarrierUpdate) (*CarrierDetail, error) {
	var out CarrierDetail
	return result(&out, c.do(ctx, http.MethodPatch, "/v1/carriers/"+seg(id), nil, in, &out, ifVersion(version)))
}

// APIKeys lists API keys (admins), one page from cursor, optionally of one
// carrier.
func (c *Client) APIKeys(ctx context.Context, carrierID, cursor string) (*Page[APIKey], error) {
	v := url.Values{}
	if carrierID != "" {
		v.Set("carrier_id", carrierID)
	}
	if cursor != "" {
		v.Set("cursor", cursor)
	}
	var out Page[APIKey]
	return result(&out, c.do(ctx, http.MethodGet, "/v1/api-keys", v, nil, &out))
}

// RevokeAPIKey revokes a key by prefix (admins); it stops working at once.
func (c *Client) RevokeAPIKey(ctx context.Context, prefix string) (*APIKey, error) {
	var out APIKey
	return result(&out, c.do(ctx, http.MethodDelete, "/v1/api-keys/"+seg(prefix), nil, nil, &out))
}

// RedirectParcel sends a parcel not yet deposited to another locker.
func (c *Client) RedirectParcel(ctx context.Context, id, siteID string, opts ...CallOption) (*Parcel, error) {
	var out Parcel
	return result(&out, c.do(ctx, http.MethodPost, "/v1/parcels/"+seg(id)+"/redirect", nil,
		map[string]string{"site_id": siteID}, &out, opts...))
}

// ReportCompartmentProblem puts the compartment reserved for a parcel out
// of order and reserves another (couriers).
func (c *Client) ReportCompartmentProblem(ctx context.Context, id, reason string, opts ...CallOption) (*Parcel, error) {
	var out Parcel
	return result(&out, c.do(ctx, http.MethodPost, "/v1/parcels/"+seg(id)+"/compartment-problem", nil,
		map[string]string{"reason": reason}, &out, opts...))
}

// CourierManifest returns today's manifest of the caller's carrier.
func (c *Client) CourierManifest(ctx context.Context) (*Manifest, error) {
	var out Manifest
	return result(&out, c.do(ctx, http.MethodGet, "/v1/courier/manifest", nil, nil, &out))
}

// TrackRedirect sends the parcel of the recipient link to another locker.
func (c *Client) TrackRedirect(ctx context.Context, siteID string, opts ...CallOption) (*Tracking, error) {
	var out Tracking
	return result(&out, c.do(ctx, http.MethodPost, "/v1/track/redirect", nil, map[string]string{"site_id": siteID}, &out, opts...))
}

// CreateDelegate creates a delegate code for the parcel of the recipient
// link; the code goes to the delegate only.
func (c *Client) CreateDelegate(ctx context.Context, in NewDelegate, opts ...CallOption) (*Delegate, error) {
	var out Delegate
	return result(&out, c.do(ctx, http.MethodPost, "/v1/track/delegates", nil, in, &out, opts...))
}

// Delegates lists the delegates of the parcel of the recipient link.
func (c *Client) Delegates(ctx context.Context) ([]Delegate, error) {
	var out Page[Delegate]
	if err := c.do(ctx, http.MethodGet, "/v1/track/delegates", nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Items, nil
}

// RevokeDelegate ends a delegate's code.
func (c *Client) RevokeDelegate(ctx context.Context, id string) (*Delegate, error) {
	var out Delegate
	return result(&out, c.do(ctx, http.MethodDelete, "/v1/track/delegates/"+seg(id), nil, nil, &out))
}
