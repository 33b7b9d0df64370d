package http

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/parcelguard/parcelguard"
)

// Compartment is one lockable door of a site.
type Compartment struct {
	ID       string `json:"id"`
	SiteID   string `json:"site_id"`
	Label    string `json:"label" doc:"What is printed on the door, such as A12."`
	Size     string `json:"size" enum:"S,M,L,XL"`
	WidthMM  int    `json:"width_mm"`
	HeightMM int    `json:"height_mm"`
	DepthMM  int    `json:"depth_mm"`
	State    string `json:"state" enum:"free,reserved,occupied,blocked,out_of_order,removed"`
	ParcelID string `json:"parcel_id,omitempty" doc:"The parcel reserved into or held by the compartment; shown to operators only."`
}

// NewCompartment is the body of POST /v1/sites/{id}/compartments.
type NewCompartment struct {
	Label    string `json:"label" minLength:"1" maxLength:"16" example:"A12"`
	Size     string `json:"size" enum:"S,M,L,XL"`
	WidthMM  int    `json:"width_mm,omitempty" minimum:"0" maximum:"3000" doc:"Inner width; with height and depth absent, the size class's standard dimensions apply."`
	HeightMM int    `json:"height_mm,omitempty" minimum:"0" maximum:"3000"`
	DepthMM  int    `json:"depth_mm,omitempty" minimum:"0" maximum:"3000"`
}

// CompartmentUpdate is the body of PATCH /v1/compartments/{id}.
type CompartmentUpdate struct {
	State string `json:"state" enum:"free,blocked,out_of_order" doc:"Block, unblock or take out of order; a compartment holding a parcel cannot change."`
}

// compartmentJSON renders c. Which parcel sits where is operational detail
// carriers and couriers of other carriers have no business seeing.
func compartmentJSON(c *parcelguard.Compartment, p parcelguard.Principal) Compartment {
	out := Compartment{
		ID:       c.ID,
		SiteID:   c.SiteID,
		Label:    c.Label,
		Size:     string(c.Size),
		WidthMM:  c.WidthMM,
		HeightMM: c.HeightMM,
		DepthMM:  c.DepthMM,
		State:    string(c.State),
	}
	if p.Role == parcelguard.RoleAdmin || p.Role == parcelguard.RoleOperator {
		out.ParcelID = c.ParcelID
	}
	return out
}

type addCompartmentInput struct {
	// Not an embedded idParam: huma skips unexported embedded structs.
	ID   string `path:"id" minLength:"1" maxLength:"64" doc:"Site id."`
	Body NewCompartment
}

type updateCompartmentInput struct {
	// Not an embedded idParam: huma skips unexported embedded structs.
	ID   string `path:"id" minLength:"1" maxLength:"64" doc:"Compartment id."`
	Body CompartmentUpdate
}

func (s *Server) registerCompartmentRoutes() {
	handle(s, huma.Operation{
		OperationID:   "addCompartment",
		Method:        http.MethodPost,
		Path:          "/v1/sites/{id}/compartments",
		Summary:       "Add a compartment to a site",
		Tags:          []string{"Sites"},
		DefaultStatus: http.StatusCreated,
		Errors:        []int{http.StatusForbidden, http.StatusNotFound, http.StatusConflict},
	}, s.handleAddCompartment)

	handle(s, huma.Operation{
		OperationID: "listCompartments",
		Method:      http.MethodGet,
		Path:        "/v1/sites/{id}/compartments",
		Summary:     "List a site's compartments",
		Tags:        []string{"Sites"},
		Errors:      []int{http.StatusForbidden, http.StatusNotFound},
	}, s.handleListCompartments)

	handle(s, huma.Operation{
		OperationID: "updateCompartment",
		Method:      http.MethodPatch,
		Path:        "/v1/compartments/{id}",
		Summary:     "Block, unblock or take a compartment out of order",
		Tags:        []string{"Sites"},
		Errors:      []int{http.StatusForbidden, http.StatusNotFound, http.StatusConflict},
	}, s.handleUpdateCompartment)

	handle(s, huma.Operation{
		OperationID: "removeCompartment",
		Method:      http.MethodDelete,
		Path:        "/v1/compartments/{id}",
		Summary:     "Remove a compartment",
		Description: "Takes the compartment out of its locker for good (state removed): it takes no parcels and leaves the " +
			"site's list; parcels and events that name it keep doing so, and its label stays taken. Refused (409) while it " +
			"holds a parcel or is reserved for one. Removing it again changes nothing. Operators and admins only.",
		Tags:   []string{"Sites"},
		Errors: []int{http.StatusForbidden, http.StatusNotFound, http.StatusConflict},
	}, s.handleRemoveCompartment)
}

func (s *Server) handleRemoveCompartment(ctx context.Context, p parcelguard.Principal, in *idParam) (*reply[Compartment], error) {
	c, err := s.svc.RemoveCompartment(ctx, p, in.ID)
	if err != nil {
		return nil, err
	}
	return &reply[Compartment]{Body: compartmentJSON(c, p)}, nil
}

func (s *Server) handleAddCompartment(ctx context.Context, p parcelguard.Principal, in *addCompartmentInput) (*reply[Compartment], error) {
	c, err := s.svc.AddCompartment(ctx, p, parcelguard.Compartment{
		SiteID: in.ID,
		Label:  in.Body.Label,
		Size:   parcelguard.SizeClass(in.Body.Size),
		Dimensions: parcelguard.Dimensions{
			WidthMM:  in.Body.WidthMM,
			HeightMM: in.Body.HeightMM,
			DepthMM:  in.Body.DepthMM,
		},
	})
	if err != nil {
		return nil, err
	}
	return &reply[Compartment]{Body: compartmentJSON(c, p)}, nil
}

func (s *Server) handleListCompartments(ctx context.Context, p parcelguard.Principal, in *idParam) (*reply[List[Compartment]], error) {
	cs, err := s.svc.Compartments(ctx, p, in.ID)
	if err != nil {
		return nil, err
	}
	out := List[Compartment]{Items: make([]Compartment, 0, len(cs))}
	for _, c := range cs {
		out.Items = append(out.Items, compartmentJSON(c, p))
	}
	return &reply[List[Compartment]]{Body: out}, nil
}

func (s *Server) handleUpdateCompartment(ctx context.Context, p parcelguard.Principal, in *updateCompartmentInput) (*reply[Compartment], error) {
	c, err := s.svc.SetCompartmentState(ctx, p, in.ID, parcelguard.CompartmentState(in.Body.State))
	if err != nil {
		return nil, err
	}
	return &reply[Compartment]{Body: compartmentJSON(c, p)}, nil
}
