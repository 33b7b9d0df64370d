package http

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/parcelguard/parcelguard/service"
)

// The recipient's routes. They authenticate with the magic-link token of
// the recipient's tracking link, sent as "Authorization: Bearer pgr_...";
// the token never appears in a path or query (where it would land in
// proxy and access logs), and nothing in this package logs it.

// Tracking is what a recipient sees of their parcel.
type Tracking struct {
	ParcelID         string         `json:"parcel_id"`
	TrackingNumber   string         `json:"tracking_number"`
	Carrier          string         `json:"carrier" doc:"The carrier's name."`
	State            string         `json:"state"`
	Mode             string         `json:"mode" enum:"locker,doorstep"`
	Size             string         `json:"size" enum:"S,M,L,XL"`
	Deadline         time.Time      `json:"deadline,omitzero" doc:"Pick up before this time; set once the parcel is in its locker."`
	DeadlineExtended bool           `json:"deadline_extended" doc:"Whether the deadline was already extended (possible once)."`
	CanExtend        bool           `json:"can_extend" doc:"Whether POST /v1/track/extend would extend the deadline now."`
	Locker           *TrackedLocker `json:"locker,omitempty" doc:"Where to pick the parcel up; absent for doorstep delivery."`
	Timeline         []TrackedEvent `json:"timeline" nullable:"false" doc:"What happened so far, oldest first."`
	LinkExpiresAt    time.Time      `json:"link_expires_at" doc:"When this tracking link stops working."`
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
	MapURL       string  `json:"map_url" doc:"The locker on OpenStreetMap."`
}

// TrackedEvent is one public event of a parcel.
type TrackedEvent struct {
	At   time.Time `json:"at"`
	Kind string    `json:"kind" example:"parcel.deposited"`
}

// PickupCode is how a recipient opens the compartment: the PIN typed at
// the kiosk (with the phone digits where asked), or the QR token shown to
// its scanner.
type PickupCode struct {
	PIN                 string    `json:"pin" doc:"The 6-digit pickup code."`
	QRToken             string    `json:"qr_token" doc:"A signed token for the kiosk's scanner (render it as a QR code); it opens only this parcel's compartment at this locker, once."`
	SiteID              string    `json:"site_id"`
	PhoneDigitsRequired bool      `json:"phone_digits_required" doc:"Whether the kiosk asks for the last 4 digits of the recipient's phone with the PIN."`
	ExpiresAt           time.Time `json:"expires_at"`
}

type trackOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         Tracking
}

type pickupCodeOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         PickupCode
}

func (s *Server) registerTrackRoutes() {
	handleRecipient(s, huma.Operation{
		OperationID: "track",
		Method:      http.MethodGet,
		Path:        "/v1/track",
		Summary:     "Track a parcel (recipient)",
		Description: "The parcel of the recipient's magic link: its state, public history, locker and deadline.",
		Tags:        []string{"Recipient"},
	}, s.handleTrack)

	handleRecipient(s, huma.Operation{
		OperationID: "trackCode",
		Method:      http.MethodGet,
		Path:        "/v1/track/code",
		Summary:     "Show the pickup code and QR token (recipient)",
		Description: "The PIN and a QR token of the parcel waiting in its locker; 409 when there is none. The answer must not be cached.",
		Tags:        []string{"Recipient"},
		Errors:      []int{http.StatusConflict},
	}, s.handleTrackCode)

	handleRecipient(s, huma.Operation{
		OperationID: "extendDeadline",
		Method:      http.MethodPost,
		Path:        "/v1/track/extend",
		Summary:     "Extend the pickup deadline once by 24 h (recipient)",
		Description: "Where the carrier allows it (403 otherwise), moves the deadline of a parcel waiting in its locker by 24 hours, once (409 after that).",
		Tags:        []string{"Recipient"},
		Errors:      []int{http.StatusForbidden, http.StatusConflict},
	}, s.handleExtend)
}

func (s *Server) tracking(ctx context.Context, a *service.RecipientAccess) (*trackOutput, error) {
	t, err := s.svc.Track(ctx, a)
	if err != nil {
		return nil, err
	}
	x := t.Parcel
	out := Tracking{
		ParcelID:         x.ID,
		TrackingNumber:   x.TrackingNumber,
		Carrier:          t.Carrier.Name,
		State:            string(x.State),
		Mode:             string(x.Mode),
		Size:             string(x.Size),
		Deadline:         utc(x.Deadline),
		DeadlineExtended: t.Extended,
		CanExtend:        t.CanExtend,
		Timeline:         make([]TrackedEvent, 0, len(t.Timeline)),
		LinkExpiresAt:    utc(a.ExpiresAt()),
	}
	if site := t.Site; site != nil {
		out.Locker = &TrackedLocker{
			ID:           site.ID,
			Name:         site.Name,
			Address:      site.Address,
			Lat:          site.Lat,
			Lon:          site.Lon,
			TimeZone:     site.TimeZone,
			OpeningHours: site.OpeningHours,
			MapURL:       mapURL(site.Lat, site.Lon),
		}
	}
	for _, e := range t.Timeline {
		out.Timeline = append(out.Timeline, TrackedEvent{At: utc(e.At), Kind: string(e.Kind)})
	}
	return &trackOutput{CacheControl: "no-store", Body: out}, nil
}

// mapURL links to a point on OpenStreetMap.
func mapURL(lat, lon float64) string {
	la, lo := strconv.FormatFloat(lat, 'f', 6, 64), strconv.FormatFloat(lon, 'f', 6, 64)
	return "https://www.openstreetmap.org/?mlat=" + la + "&mlon=" + lo + "#map=18/" + la + "/" + lo
}

func (s *Server) handleTrack(ctx context.Context, a *service.RecipientAccess, _ *struct{}) (*trackOutput, error) {
	return s.tracking(ctx, a)
}

func (s *Server) handleTrackCode(ctx context.Context, a *service.RecipientAccess, _ *struct{}) (*pickupCodeOutput, error) {
	c, err := s.svc.TrackCode(ctx, a)
	if err != nil {
		return nil, err
	}
	return &pickupCodeOutput{
		CacheControl: "no-store",
		Body: PickupCode{
			PIN:                 c.PIN,
			QRToken:             c.QRToken,
			SiteID:              c.SiteID,
			PhoneDigitsRequired: c.PhoneDigits,
			ExpiresAt:           utc(c.ExpiresAt),
		},
	}, nil
}

func (s *Server) handleExtend(ctx context.Context, a *service.RecipientAccess, _ *struct{}) (*trackOutput, error) {
	if _, err := s.svc.ExtendDeadline(ctx, a); err != nil {
		return nil, err
	}
	return s.tracking(ctx, a)
}
