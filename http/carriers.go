package http

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/parcelguard/parcelguard"
)

// Carrier is a company that hands parcels to parcelguard.
type Carrier struct {
	ID                   string    `json:"id"`
	Name                 string    `json:"name"`
	PhoneFactor          bool      `json:"phone_factor" doc:"Whether pickup asks for the last 4 digits of the recipient's phone besides the PIN."`
	StoragePeriodSeconds int64     `json:"storage_period_seconds,omitempty" doc:"Storage period override in seconds; absent means none."`
	CreatedAt            time.Time `json:"created_at"`
	Version              int64     `json:"version" doc:"Bumped by every change of the carrier or its policies; send it in quotes as If-Match to change the carrier."`
}

// NewCarrier is the body of POST /v1/carriers.
type NewCarrier struct {
	Name string `json:"name" minLength:"1" maxLength:"200"`
	// PhoneFactor is a pointer so that an absent field can mean true: the
	// second factor is on unless a carrier explicitly turns it off
	// (SECURITY.md 6), and a plain bool cannot tell absent from false.
	PhoneFactor          *bool `json:"phone_factor,omitempty" default:"true" doc:"Ask for the last 4 digits of the recipient's phone at pickup. Defaults to true; only an explicit false turns it off."`
	StoragePeriodSeconds int64 `json:"storage_period_seconds,omitempty" minimum:"0" maximum:"1209600" doc:"Storage period override in seconds, at most 14 days."`
}

func carrierJSON(c *parcelguard.Carrier) Carrier {
	return Carrier{
		ID:                   c.ID,
		Name:                 c.Name,
		PhoneFactor:          c.PhoneFactor,
		StoragePeriodSeconds: seconds(c.StoragePeriod),
		CreatedAt:            utc(c.CreatedAt),
		Version:              c.Version,
	}
}

func (s *Server) registerCarrierRoutes() {
	handle(s, huma.Operation{
		OperationID:   "createCarrier",
		Method:        http.MethodPost,
		Path:          "/v1/carriers",
		Summary:       "Create a carrier",
		Description:   "Adds a carrier. Operators and admins only.",
		Tags:          []string{"Carriers"},
		DefaultStatus: http.StatusCreated,
		Errors:        []int{http.StatusForbidden},
	}, s.handleCreateCarrier)
}

func (s *Server) handleCreateCarrier(ctx context.Context, p parcelguard.Principal, in *bodyInput[NewCarrier]) (*reply[Carrier], error) {
	// Fail safe: whatever fills in defaults, only an explicit false disables
	// the second factor.
	phoneFactor := in.Body.PhoneFactor == nil || *in.Body.PhoneFactor
	c, err := s.svc.CreateCarrier(ctx, p, parcelguard.Carrier{
		Name:          in.Body.Name,
		PhoneFactor:   phoneFactor,
		StoragePeriod: time.Duration(in.Body.StoragePeriodSeconds) * time.Second,
	})
	if err != nil {
		return nil, err
	}
	return &reply[Carrier]{Body: carrierJSON(c)}, nil
}
