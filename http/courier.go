package http

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/parcelguard/parcelguard"
)

// The courier's routes move a parcel through the locker: reserve a
// compartment, deposit, and for parcels nobody picked up, collect and
// return. None of the answers carries a code: the pickup PIN reaches only
// the recipient (SECURITY.md 4), never the courier who could use it.

func (s *Server) registerCourierRoutes() {
	parcelAction := func(id, path, summary, description string, h func(context.Context, parcelguard.Principal, *idParam) (*reply[Parcel], error)) {
		handle(s, huma.Operation{
			OperationID: id,
			Method:      http.MethodPost,
			Path:        path,
			Summary:     summary,
			Description: description,
			Tags:        []string{"Courier"},
			Errors:      []int{http.StatusForbidden, http.StatusNotFound, http.StatusConflict},
		}, h)
	}
	parcelAction("reserveCompartment", "/v1/parcels/{id}/reserve", "Reserve a compartment",
		"Holds the smallest free compartment of the parcel's locker that fits it.",
		s.parcelAction(s.svc.Reserve))
	parcelAction("depositParcel", "/v1/parcels/{id}/deposit", "Deposit a parcel",
		"Records that the parcel is in its reserved compartment. The recipient gets the pickup code; this answer does not carry it.",
		s.parcelAction(s.svc.Deposit))
	parcelAction("collectParcel", "/v1/parcels/{id}/collect", "Collect an expired parcel",
		"Records that a courier took an expired parcel out for return to the sender.",
		s.parcelAction(s.svc.Collect))
	parcelAction("returnParcel", "/v1/parcels/{id}/returned", "Mark a parcel returned",
		"Records that a collected parcel reached its sender.",
		s.parcelAction(s.svc.MarkReturned))

	handle(s, huma.Operation{
		OperationID: "issueDepositCode",
		Method:      http.MethodPost,
		Path:        "/v1/parcels/{id}/deposit-code",
		Summary:     "Get a deposit code for a reserved parcel",
		Description: "A one-time 6-digit code that opens the parcel's reserved compartment at the locker's kiosk, " +
			"also while the locker is offline; the locker reports the deposit when it can. Asking again revokes the " +
			"previous code. The code is shown only in this answer, which is never replayed for a repeated Idempotency-Key.",
		Tags:     []string{"Courier"},
		Errors:   []int{http.StatusForbidden, http.StatusNotFound, http.StatusConflict},
		Metadata: map[string]any{metaOneTimeSecret: true},
	}, s.handleIssueDepositCode)

	handle(s, huma.Operation{
		OperationID: "listReturns",
		Method:      http.MethodGet,
		Path:        "/v1/sites/{id}/returns",
		Summary:     "A site's return-collection queue",
		Description: "Expired parcels waiting for a courier to collect them. Carrier and courier keys see only their carrier's.",
		Tags:        []string{"Courier"},
		Errors:      []int{http.StatusForbidden},
	}, s.handleReturnQueue)
}

// parcelAction adapts a use case that moves one parcel by id.
func (s *Server) parcelAction(call func(context.Context, parcelguard.Principal, string) (*parcelguard.Parcel, error)) func(context.Context, parcelguard.Principal, *idParam) (*reply[Parcel], error) {
	return func(ctx context.Context, p parcelguard.Principal, in *idParam) (*reply[Parcel], error) {
		x, err := call(ctx, p, in.ID)
		if err != nil {
			return nil, err
		}
		return &reply[Parcel]{Body: parcelJSON(x)}, nil
	}
}

func (s *Server) handleReturnQueue(ctx context.Context, p parcelguard.Principal, in *idParam) (*reply[List[Parcel]], error) {
	xs, err := s.svc.ReturnQueue(ctx, p, in.ID)
	if err != nil {
		return nil, err
	}
	// The queue is one bounded page; no cursor.
	return &reply[List[Parcel]]{Body: parcelList(xs, 0)}, nil
}

// DepositCode is a courier's one-time code for a reserved compartment.
type DepositCode struct {
	Code      string    `json:"code" doc:"6 digits, valid once at the parcel's locker."`
	ExpiresAt time.Time `json:"expires_at"`
}

func (s *Server) handleIssueDepositCode(ctx context.Context, p parcelguard.Principal, in *idParam) (*reply[DepositCode], error) {
	code, g, err := s.svc.IssueDepositCode(ctx, p, in.ID)
	if err != nil {
		return nil, err
	}
	return &reply[DepositCode]{Body: DepositCode{Code: code, ExpiresAt: g.ExpiresAt}}, nil
}
