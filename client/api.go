package client

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Healthz asks whether the server is alive.
func (c *Client) Healthz(ctx context.Context) (*Health, error) {
	var h Health
	return result(&h, c.do(ctx, http.MethodGet, "/healthz", nil, nil, &h))
}

// Readyz asks whether the server can serve (its store answers).
func (c *Client) Readyz(ctx context.Context) (*Health, error) {
	var h Health
	return result(&h, c.do(ctx, http.MethodGet, "/readyz", nil, nil, &h))
}

// CreateSite adds a locker site (operators).
func (c *Client) CreateSite(ctx context.Context, in NewSite, opts ...CallOption) (*Site, error) {
	var s Site
	return result(&s, c.do(ctx, http.MethodPost, "/v1/sites", nil, in, &s, opts...))
}

// Site returns a site.
func (c *Client) Site(ctx context.Context, id string) (*Site, error) {
	var s Site
	return result(&s, c.do(ctx, http.MethodGet, "/v1/sites/"+seg(id), nil, nil, &s))
}

// AddCompartment adds a compartment to a site (operators).
func (c *Client) AddCompartment(ctx context.Context, siteID string, in NewCompartment, opts ...CallOption) (*Compartment, error) {
	var out Compartment
	return result(&out, c.do(ctx, http.MethodPost, "/v1/sites/"+seg(siteID)+"/compartments", nil, in, &out, opts...))
}

// Compartments lists a site's compartments.
func (c *Client) Compartments(ctx context.Context, siteID string) ([]Compartment, error) {
	var out Page[Compartment]
	if err := c.do(ctx, http.MethodGet, "/v1/sites/"+seg(siteID)+"/compartments", nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Items, nil
}

// SetCompartmentState blocks (CompartmentBlocked), unblocks
// (CompartmentFree) or takes a compartment out of order (operators).
func (c *Client) SetCompartmentState(ctx context.Context, id, state string) (*Compartment, error) {
	var out Compartment
	return result(&out, c.do(ctx, http.MethodPatch, "/v1/compartments/"+seg(id), nil, map[string]string{"state": state}, &out))
}

// CreateCarrier adds a carrier (operators).
func (c *Client) CreateCarrier(ctx context.Context, in NewCarrier, opts ...CallOption) (*Carrier, error) {
	var out Carrier
	return result(&out, c.do(ctx, http.MethodPost, "/v1/carriers", nil, in, &out, opts...))
}

// CreateAPIKey creates an API key (admins). Its token is in the answer
// only: a retry after a lost answer gets ErrNotReplayable, never the token.
func (c *Client) CreateAPIKey(ctx context.Context, in NewAPIKey, opts ...CallOption) (*APIKeyCreated, error) {
	var out APIKeyCreated
	return result(&out, c.do(ctx, http.MethodPost, "/v1/api-keys", nil, in, &out, opts...))
}

// AnnounceParcel registers a parcel a carrier is about to hand over.
func (c *Client) AnnounceParcel(ctx context.Context, in NewParcel, opts ...CallOption) (*Parcel, error) {
	var out Parcel
	return result(&out, c.do(ctx, http.MethodPost, "/v1/parcels", nil, in, &out, opts...))
}

// Parcel returns a parcel.
func (c *Client) Parcel(ctx context.Context, id string) (*Parcel, error) {
	var out Parcel
	return result(&out, c.do(ctx, http.MethodGet, "/v1/parcels/"+seg(id), nil, nil, &out))
}

// ListParcels returns one page of parcels, oldest first.
func (c *Client) ListParcels(ctx context.Context, q ParcelQuery) (*Page[Parcel], error) {
	v := url.Values{}
	for name, val := range map[string]string{"state": q.State, "site_id": q.SiteID, "tracking_number": q.TrackingNumber, "cursor": q.Cursor} {
		if val != "" {
			v.Set(name, val)
		}
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var out Page[Parcel]
	return result(&out, c.do(ctx, http.MethodGet, "/v1/parcels", v, nil, &out))
}

// Parcels iterates over every parcel q selects, page by page from
// q.Cursor on. It stops at the first error, which it yields.
func (c *Client) Parcels(ctx context.Context, q ParcelQuery) iter.Seq2[Parcel, error] {
	return func(yield func(Parcel, error) bool) {
		for {
			page, err := c.ListParcels(ctx, q)
			if err != nil {
				yield(Parcel{}, err)
				return
			}
			for _, p := range page.Items {
				if !yield(p, nil) {
					return
				}
			}
			if page.NextCursor == "" || len(page.Items) == 0 {
				return
			}
			q.Cursor = page.NextCursor
		}
	}
}

// ParcelEvents returns a parcel's audit history.
func (c *Client) ParcelEvents(ctx context.Context, id string) ([]Event, error) {
	var out Page[Event]
	if err := c.do(ctx, http.MethodGet, "/v1/parcels/"+seg(id)+"/events", nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Items, nil
}

func (c *Client) parcelAction(ctx context.Context, id, action string, opts []CallOption) (*Parcel, error) {
	var out Parcel
	return result(&out, c.do(ctx, http.MethodPost, "/v1/parcels/"+seg(id)+"/"+action, nil, nil, &out, opts...))
}

// CancelParcel withdraws a parcel not yet deposited.
func (c *Client) CancelParcel(ctx context.Context, id string, opts ...CallOption) (*Parcel, error) {
	return c.parcelAction(ctx, id, "cancel", opts)
}

// Reserve holds a compartment for a parcel at its locker.
func (c *Client) Reserve(ctx context.Context, id string, opts ...CallOption) (*Parcel, error) {
	return c.parcelAction(ctx, id, "reserve", opts)
}

// Deposit records that a courier put a parcel into its compartment.
func (c *Client) Deposit(ctx context.Context, id string, opts ...CallOption) (*Parcel, error) {
	return c.parcelAction(ctx, id, "deposit", opts)
}

// DepositCode is a courier's one-time code for a reserved compartment.
type DepositCode struct {
	Code      string    `json:"code"`
	ExpiresAt time.Time `json:"expires_at"`
}

// IssueDepositCode gets a one-time code that opens the parcel's reserved
// compartment at the locker's kiosk, also while the locker is offline.
// Asking again revokes the previous code.
func (c *Client) IssueDepositCode(ctx context.Context, id string, opts ...CallOption) (*DepositCode, error) {
	var out DepositCode
	return result(&out, c.do(ctx, http.MethodPost, "/v1/parcels/"+seg(id)+"/deposit-code", nil, nil, &out, opts...))
}

// Collect records that a courier took an expired parcel out for return.
func (c *Client) Collect(ctx context.Context, id string, opts ...CallOption) (*Parcel, error) {
	return c.parcelAction(ctx, id, "collect", opts)
}

// MarkReturned records that a collected parcel reached its sender.
func (c *Client) MarkReturned(ctx context.Context, id string, opts ...CallOption) (*Parcel, error) {
	return c.parcelAction(ctx, id, "returned", opts)
}

// ReturnQueue lists a site's expired parcels waiting for collection.
func (c *Client) ReturnQueue(ctx context.Context, siteID string) ([]Parcel, error) {
	var out Page[Parcel]
	if err := c.do(ctx, http.MethodGet, "/v1/sites/"+seg(siteID)+"/returns", nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Items, nil
}

// Pickup relays a recipient's PIN (and phone digits, where asked) from a
// site's kiosk.
func (c *Client) Pickup(ctx context.Context, siteID, pin, phoneDigits string, opts ...CallOption) (*PickupResult, error) {
	body := map[string]string{"pin": pin}
	if phoneDigits != "" {
		body["phone_digits"] = phoneDigits
	}
	var out PickupResult
	return result(&out, c.do(ctx, http.MethodPost, "/v1/sites/"+seg(siteID)+"/pickup", nil, body, &out, opts...))
}

// PickupQR relays a recipient's QR token from a site's kiosk.
func (c *Client) PickupQR(ctx context.Context, siteID, token string, opts ...CallOption) (*PickupResult, error) {
	var out PickupResult
	return result(&out, c.do(ctx, http.MethodPost, "/v1/sites/"+seg(siteID)+"/pickup/qr", nil, map[string]string{"token": token}, &out, opts...))
}

// Track returns the recipient's view of the parcel of the client's
// magic-link token.
func (c *Client) Track(ctx context.Context) (*Tracking, error) {
	var out Tracking
	return result(&out, c.do(ctx, http.MethodGet, "/v1/track", nil, nil, &out))
}

// TrackCode returns the pickup PIN and QR token of the parcel of the
// client's magic-link token.
func (c *Client) TrackCode(ctx context.Context) (*PickupCode, error) {
	var out PickupCode
	return result(&out, c.do(ctx, http.MethodGet, "/v1/track/code", nil, nil, &out))
}

// ExtendDeadline extends the pickup deadline of the parcel of the client's
// magic-link token once by 24 h, where the carrier allows it.
func (c *Client) ExtendDeadline(ctx context.Context, opts ...CallOption) (*Tracking, error) {
	var out Tracking
	return result(&out, c.do(ctx, http.MethodPost, "/v1/track/extend", nil, nil, &out, opts...))
}

// result returns v, or nil with a non-nil err.
func result[T any](v *T, err error) (*T, error) {
	if err != nil {
		return nil, err
	}
	return v, nil
}
