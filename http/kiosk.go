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
