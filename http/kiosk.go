package http

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/parcelguard/parcelguard"
)

// PickupRequest is what a recipient types at a kiosk.
//
// It holds a secret. Nothing in this package logs or echoes a request body
// or a field value: the access log has the route pattern only, and problems
// never repeat the offending value (see ProblemField).
type PickupRequest struct {
	PIN         string `json:"pin" pattern:"^[0-9]{6}$" doc:"The 6-digit pickup code."`
	PhoneDigits string `json:"phone_digits,omitempty" pattern:"^[0-9]{4}$" doc:"The last 4 digits of the recipient's phone number, where the carrier asks for them."`
}

// PickupResult tells the kiosk which door to open.
type PickupResult struct {
	ParcelID         string `json:"parcel_id"`
	CompartmentID    string `json:"compartment_id"`
	CompartmentLabel string `json:"compartment_label" example:"A12"`
}

type pickupInput struct {
	// Not an embedded idParam: huma skips unexported embedded structs.
	ID   string `path:"id" minLength:"1" maxLength:"64" doc:"Site id."`
	Body PickupRequest
}

// QRPickupRequest is the QR token a kiosk's scanner read. Like a PIN it is
// a secret: never logged, never echoed.
type QRPickupRequest struct {
	Token string `json:"token" minLength:"1" maxLength:"1024" pattern:"^[A-Z2-7]+$" doc:"The QR token as scanned (RFC 4648 base32)."`
}

type qrPickupInput struct {
	ID   string `path:"id" minLength:"1" maxLength:"64" doc:"Site id."`
	Body QRPickupRequest
}

type pickupOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         PickupResult
}

func (s *Server) registerKioskRoutes() {
	handle(s, huma.Operation{
		OperationID: "pickup",
		Method:      http.MethodPost,
		Path:        "/v1/sites/{id}/pickup",
		Summary:     "Pick up a parcel",
		Description: "A site's kiosk relays a recipient's PIN (and phone digits). A wrong PIN and wrong digits get the same 403; " +
			"a code is disabled after 5 failures (423) and the kiosk slows down after repeated failures (429 with Retry-After).",
		Tags:   []string{"Kiosk"},
		Errors: []int{http.StatusForbidden, http.StatusNotFound, http.StatusLocked, http.StatusTooManyRequests},
	}, s.handlePickup)

	handle(s, huma.Operation{
		OperationID: "pickupQR",
		Method:      http.MethodPost,
		Path:        "/v1/sites/{id}/pickup/qr",
		Summary:     "Pick up a parcel by QR token",
		Description: "A site's kiosk relays the QR token a recipient shows. The token opens its compartment once, only at its own site, " +
			"without the phone digits. A forged, used or other site's token gets 403; an expired one 403 with its own detail. " +
			"Failed scans are audited but do not slow the kiosk down for PIN users.",
		Tags:   []string{"Kiosk"},
		Errors: []int{http.StatusForbidden, http.StatusNotFound, http.StatusLocked},
	}, s.handlePickupQR)
}

func (s *Server) handlePickupQR(ctx context.Context, p parcelguard.Principal, in *qrPickupInput) (*pickupOutput, error) {
	res, err := s.svc.PickupQR(ctx, p, in.ID, in.Body.Token)
	if err != nil {
		return nil, err
	}
	return &pickupOutput{
		CacheControl: "no-store",
		Body: PickupResult{
			ParcelID:         res.ParcelID,
			CompartmentID:    res.CompartmentID,
			CompartmentLabel: res.CompartmentLabel,
		},
	}, nil
}

func (s *Server) handlePickup(ctx context.Context, p parcelguard.Principal, in *pickupInput) (*pickupOutput, error) {
	res, err := s.svc.Pickup(ctx, p, in.ID, in.Body.PIN, in.Body.PhoneDigits)
	if err != nil {
		return nil, err
	}
	return &pickupOutput{
		CacheControl: "no-store",
		Body: PickupResult{
			ParcelID:         res.ParcelID,
			CompartmentID:    res.CompartmentID,
			CompartmentLabel: res.CompartmentLabel,
		},
	}, nil
}
