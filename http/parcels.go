package http

import (
	"context"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/parcelguard/parcelguard"
)

// Parcel is a shipment as the API shows it. It never carries a code.
type Parcel struct {
	ID             string    `json:"id"`
	CarrierID      string    `json:"carrier_id"`
	TrackingNumber string    `json:"tracking_number"`
	Recipient      Recipient `json:"recipient"`
	Size           string    `json:"size" enum:"S,M,L,XL"`
	DeclaredValue  int64     `json:"declared_value" doc:"In minor units of currency."`
	Currency       string    `json:"currency,omitempty"`
	Mode           string    `json:"mode" enum:"locker,doorstep"`
	State          string    `json:"state"`
	SiteID         string    `json:"site_id,omitempty"`
	CompartmentID  string    `json:"compartment_id,omitempty"`
	Deadline       time.Time `json:"deadline,omitzero" doc:"End of storage, once deposited."`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// Recipient is who a parcel is for, with the phone number masked.
type Recipient struct {
	Name     string `json:"name"`
	Phone    string `json:"phone" example:"+48•••••••••" doc:"Masked: only the country prefix shows; the last digits are the pickup second factor."`
	Email    string `json:"email,omitempty"`
	Language string `json:"language,omitempty"`
}

// NewParcel is the body of POST /v1/parcels.
type NewParcel struct {
	TrackingNumber string       `json:"tracking_number" pattern:"^[A-Za-z0-9-]{4,40}$" example:"PG-000123"`
	Recipient      NewRecipient `json:"recipient"`
	Size           string       `json:"size" enum:"S,M,L,XL"`
	DeclaredValue  int64        `json:"declared_value,omitempty" minimum:"0" doc:"In minor units of currency."`
	Currency       string       `json:"currency,omitempty" pattern:"^[A-Z]{3}$" example:"PLN"`
	Mode           string       `json:"mode,omitempty" enum:"locker,doorstep" default:"locker"`
	SiteID         string       `json:"site_id,omitempty" maxLength:"64" doc:"The locker; required for locker handover."`
	CarrierID      string       `json:"carrier_id,omitempty" maxLength:"64" doc:"Operators and admins name the carrier; carrier keys announce for their own carrier and must leave it out."`
}

// NewRecipient is who a new parcel is for.
type NewRecipient struct {
	Name     string `json:"name" minLength:"1" maxLength:"200"`
	Phone    string `json:"phone" pattern:"^\\+[1-9][0-9]{6,14}$" example:"+48600100200" doc:"E.164."`
	Email    string `json:"email,omitempty" maxLength:"254"`
	Language string `json:"language,omitempty" pattern:"^[a-z]{2}(-[A-Z]{2})?$" example:"pl" doc:"BCP 47 tag; messages fall back to English."`
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
	Hash          string            `json:"hash" doc:"Hex SHA-256 chaining this event to the previous one of its stream."`
}

func parcelJSON(x *parcelguard.Parcel) Parcel {
	return Parcel{
		ID:             x.ID,
		CarrierID:      x.CarrierID,
		TrackingNumber: x.TrackingNumber,
		Recipient: Recipient{
			Name:     x.Recipient.Name,
			Phone:    maskPhone(x.Recipient.Phone),
			Email:    x.Recipient.Email,
			Language: x.Recipient.Language,
		},
		Size:          string(x.Size),
		DeclaredValue: x.DeclaredValue,
		Currency:      x.Currency,
		Mode:          string(x.Mode),
		State:         string(x.State),
		SiteID:        x.SiteID,
		CompartmentID: x.CompartmentID,
		Deadline:      utc(x.Deadline),
		CreatedAt:     utc(x.CreatedAt),
		UpdatedAt:     utc(x.UpdatedAt),
	}
}

func parcelList(xs []*parcelguard.Parcel, limit int) List[Parcel] {
	out := List[Parcel]{Items: make([]Parcel, 0, len(xs))}
	for _, x := range xs {
		out.Items = append(out.Items, parcelJSON(x))
	}
	// A full page may have a successor; ids sort by creation, so the last
	// id is where the next page starts.
	if limit > 0 && len(xs) == limit {
		out.NextCursor = xs[len(xs)-1].ID
	}
	return out
}

func eventJSON(e *parcelguard.Event) Event {
	return Event{
		ID:            e.ID,
		Stream:        e.Stream,
		Seq:           e.Seq,
		At:            utc(e.At),
		Kind:          string(e.Kind),
		SiteID:        e.SiteID,
		CompartmentID: e.CompartmentID,
		ParcelID:      e.ParcelID,
		GrantID:       e.GrantID,
		Actor:         e.Actor,
		Data:          e.Data,
		Hash:          hex.EncodeToString(e.Hash),
	}
}

// maskPhone hides all of an E.164 number but its first 3 characters (the
// "+" and the start of the country code), keeping the length:
// "+48600100200" becomes "+48•••••••••". The trailing digits stay hidden
// because they are the pickup's second factor (SECURITY.md 6).
func maskPhone(phone string) string {
	const keepHead = 3
	if len(phone) <= keepHead {
		return strings.Repeat("•", len(phone))
	}
	return phone[:keepHead] + strings.Repeat("•", len(phone)-keepHead)
}

type listParcelsInput struct {
	State          string `query:"state" enum:"announced,reserved,deposited,picked_up,expired,collected,returned,cancelled,redirected,out_for_delivery,delivered,attempt_failed,rescheduled,redirected_to_locker" doc:"Only parcels in this state."`
	SiteID         string `query:"site_id" maxLength:"64" doc:"Only parcels for this site."`
	TrackingNumber string `query:"tracking_number" maxLength:"40"`
	Cursor         string `query:"cursor" maxLength:"64" doc:"next_cursor of the previous page."`
	Limit          int    `query:"limit" minimum:"1" maximum:"500" default:"100"`
}

func (s *Server) registerParcelRoutes() {
	handle(s, huma.Operation{
		OperationID:   "announceParcel",
		Method:        http.MethodPost,
		Path:          "/v1/parcels",
		Summary:       "Announce a parcel",
		Description:   "Registers a parcel a carrier is about to hand over.",
		Tags:          []string{"Parcels"},
		DefaultStatus: http.StatusCreated,
		Errors:        []int{http.StatusForbidden},
	}, s.handleAnnounce)

	handle(s, huma.Operation{
		OperationID: "getParcel",
		Method:      http.MethodGet,
		Path:        "/v1/parcels/{id}",
		Summary:     "Get a parcel",
		Description: "Carrier and courier keys see only their carrier's parcels; others' answer 404 like missing ones.",
		Tags:        []string{"Parcels"},
		Errors:      []int{http.StatusForbidden, http.StatusNotFound},
	}, s.handleGetParcel)

	handle(s, huma.Operation{
		OperationID: "listParcels",
		Method:      http.MethodGet,
		Path:        "/v1/parcels",
		Summary:     "List parcels",
		Description: "Oldest first, cursor-paginated. Carrier and courier keys see only their carrier's parcels.",
		Tags:        []string{"Parcels"},
		Errors:      []int{http.StatusForbidden},
	}, s.handleListParcels)

	handle(s, huma.Operation{
		OperationID: "listParcelEvents",
		Method:      http.MethodGet,
		Path:        "/v1/parcels/{id}/events",
		Summary:     "A parcel's audit history",
		Tags:        []string{"Parcels"},
		Errors:      []int{http.StatusForbidden, http.StatusNotFound},
	}, s.handleParcelEvents)

	handle(s, huma.Operation{
		OperationID: "cancelParcel",
		Method:      http.MethodPost,
		Path:        "/v1/parcels/{id}/cancel",
		Summary:     "Cancel a parcel",
		Description: "Withdraws a parcel that has not been deposited yet and frees its reservation.",
		Tags:        []string{"Parcels"},
		Errors:      []int{http.StatusForbidden, http.StatusNotFound, http.StatusConflict},
	}, s.handleCancel)
}

func (s *Server) handleAnnounce(ctx context.Context, p parcelguard.Principal, in *bodyInput[NewParcel]) (*created[Parcel], error) {
	b := in.Body
	if p.Role == parcelguard.RoleCarrier && b.CarrierID != "" && b.CarrierID != p.CarrierID {
		// The service would silently use the key's carrier; say so instead.
		return nil, parcelguard.Invalid(parcelguard.FieldError{Field: "carrier_id",
			Message: "must be left out: a carrier key announces for its own carrier"})
	}
	x, err := s.svc.Announce(ctx, p, parcelguard.Parcel{
		CarrierID:      b.CarrierID,
		TrackingNumber: b.TrackingNumber,
		Recipient: parcelguard.Recipient{
			Name:     b.Recipient.Name,
			Phone:    b.Recipient.Phone,
			Email:    b.Recipient.Email,
			Language: b.Recipient.Language,
		},
		Size:          parcelguard.SizeClass(b.Size),
		DeclaredValue: b.DeclaredValue,
		Currency:      b.Currency,
		Mode:          parcelguard.HandoverMode(b.Mode),
		SiteID:        b.SiteID,
	})
	if err != nil {
		return nil, err
	}
	return &created[Parcel]{Location: "/v1/parcels/" + x.ID, Body: parcelJSON(x)}, nil
}

func (s *Server) handleGetParcel(ctx context.Context, p parcelguard.Principal, in *idParam) (*reply[Parcel], error) {
	x, err := s.svc.Parcel(ctx, p, in.ID)
	if err != nil {
		return nil, err
	}
	return &reply[Parcel]{Body: parcelJSON(x)}, nil
}

func (s *Server) handleListParcels(ctx context.Context, p parcelguard.Principal, in *listParcelsInput) (*reply[List[Parcel]], error) {
	xs, err := s.svc.Parcels(ctx, p, parcelguard.ParcelFilter{
		State:          parcelguard.ParcelState(in.State),
		SiteID:         in.SiteID,
		TrackingNumber: in.TrackingNumber,
		After:          in.Cursor,
		Limit:          in.Limit,
	})
	if err != nil {
		return nil, err
	}
	return &reply[List[Parcel]]{Body: parcelList(xs, in.Limit)}, nil
}

func (s *Server) handleParcelEvents(ctx context.Context, p parcelguard.Principal, in *idParam) (*reply[List[Event]], error) {
	es, err := s.svc.ParcelEvents(ctx, p, in.ID)
	if err != nil {
		return nil, err
	}
	out := List[Event]{Items: make([]Event, 0, len(es))}
	for _, e := range es {
		out.Items = append(out.Items, eventJSON(e))
	}
	return &reply[List[Event]]{Body: out}, nil
}

func (s *Server) handleCancel(ctx context.Context, p parcelguard.Principal, in *idParam) (*reply[Parcel], error) {
	x, err := s.svc.Cancel(ctx, p, in.ID)
	if err != nil {
		return nil, err
	}
	return &reply[Parcel]{Body: parcelJSON(x)}, nil
}
