package http

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/service"
)

// Redirects, delegate codes, the courier's manifest and compartment
// problem reports.

// RedirectRequest is the body of the redirect operations.
type RedirectRequest struct {
	SiteID string `json:"site_id" minLength:"1" maxLength:"64" doc:"The locker to send the parcel to."`
}

// ProblemReport is the body of POST /v1/parcels/{id}/compartment-problem.
type ProblemReport struct {
	Reason string `json:"reason" minLength:"1" maxLength:"500" example:"door does not open" doc:"What is wrong with the compartment."`
}

// NewDelegate is the body of POST /v1/track/delegates.
type NewDelegate struct {
	Name  string `json:"name" minLength:"1" maxLength:"200" doc:"Who may collect the parcel."`
	Phone string `json:"phone,omitempty" pattern:"^\\+[1-9][0-9]{6,14}$" example:"+48600100300" doc:"E.164; the delegate's code is sent here by SMS."`
	Email string `json:"email,omitempty" maxLength:"254" doc:"The delegate's code is sent here. Give a phone, an e-mail or both."`
}

// Delegate is a person allowed to collect a parcel with a code of their
// own. The code goes only to the delegate; it is never in this answer.
type Delegate struct {
	ID        string    `json:"id" doc:"The delegate's grant id; revoke with DELETE /v1/track/delegates/{id}."`
	Name      string    `json:"name"`
	Phone     string    `json:"phone,omitempty" doc:"Masked."`
	Email     string    `json:"email,omitempty"`
	State     string    `json:"state" enum:"active,used,locked,expired,revoked"`
	ExpiresAt time.Time `json:"expires_at"`
	CreatedAt time.Time `json:"created_at"`
}

// ManifestStop is one locker of a courier's manifest.
type ManifestStop struct {
	Site     Site     `json:"site"`
	Deposits []Parcel `json:"deposits" nullable:"false" doc:"Parcels to deposit here (announced, reserved or redirected)."`
	Returns  []Parcel `json:"returns" nullable:"false" doc:"Expired parcels to collect here for return."`
}

// Manifest is a courier's work for today.
type Manifest struct {
	Day      string         `json:"day" format:"date" example:"2026-03-02" doc:"The date in UTC when the manifest was made."`
	Lockers  []ManifestStop `json:"lockers" nullable:"false"`
	Doorstep []Parcel       `json:"doorstep" nullable:"false" doc:"Doorstep deliveries due today in their recipients' time zones."`
}

type redirectInput struct {
	ID   string `path:"id" minLength:"1" maxLength:"64" doc:"Parcel id."`
	Body RedirectRequest
}

type problemReportInput struct {
	ID   string `path:"id" minLength:"1" maxLength:"64" doc:"Parcel id."`
	Body ProblemReport
}

func (s *Server) registerRedirectRoutes() {
	handle(s, huma.Operation{
		OperationID: "redirectParcel",
		Method:      http.MethodPost,
		Path:        "/v1/parcels/{id}/redirect",
		Summary:     "Redirect a parcel to another locker",
		Description: "Before deposit only (409 after). Any reservation ends; the parcel waits for a compartment at the new locker and the recipient is told.",
		Tags:        []string{"Parcels"},
		Errors:      []int{http.StatusForbidden, http.StatusNotFound, http.StatusConflict},
	}, s.handleRedirect)

	handleRecipient(s, huma.Operation{
		OperationID: "trackRedirect",
		Method:      http.MethodPost,
		Path:        "/v1/track/redirect",
		Summary:     "Send the parcel to another locker (recipient)",
		Description: "Before deposit only (409 after). Find lockers with GET /v1/sites/search.",
		Tags:        []string{"Recipient"},
		Errors:      []int{http.StatusConflict},
	}, s.handleTrackRedirect)

	handleRecipient(s, huma.Operation{
		OperationID: "listDelegates",
		Method:      http.MethodGet,
		Path:        "/v1/track/delegates",
		Summary:     "List delegate codes (recipient)",
		Tags:        []string{"Recipient"},
	}, s.handleListDelegates)

	handleRecipient(s, huma.Operation{
		OperationID:   "createDelegate",
		Method:        http.MethodPost,
		Path:          "/v1/track/delegates",
		Summary:       "Let someone else collect the parcel (recipient)",
		Description:   "Creates a separate, revocable pickup code for a named person and sends it to them, never to the caller. Only while the parcel waits in its locker (409 otherwise); at most 3 per parcel.",
		Tags:          []string{"Recipient"},
		DefaultStatus: http.StatusCreated,
		Errors:        []int{http.StatusConflict},
	}, s.handleCreateDelegate)

	handleRecipient(s, huma.Operation{
		OperationID: "revokeDelegate",
		Method:      http.MethodDelete,
		Path:        "/v1/track/delegates/{id}",
		Summary:     "Revoke a delegate code (recipient)",
		Description: "The delegate's code stops working at once.",
		Tags:        []string{"Recipient"},
		Errors:      []int{http.StatusNotFound},
	}, s.handleRevokeDelegate)

	handle(s, huma.Operation{
		OperationID: "courierManifest",
		Method:      http.MethodGet,
		Path:        "/v1/courier/manifest",
		Summary:     "Today's manifest",
		Description: "Parcels to deposit grouped per locker, the expired parcels to collect there, and doorstep deliveries. Couriers and carriers see their carrier's.",
		Tags:        []string{"Courier"},
		Errors:      []int{http.StatusForbidden},
	}, s.handleManifest)

	handle(s, huma.Operation{
		OperationID: "reportCompartmentProblem",
		Method:      http.MethodPost,
		Path:        "/v1/parcels/{id}/compartment-problem",
		Summary:     "Report a broken compartment and get another",
		Description: "The compartment reserved for the parcel goes out of order with the reason, and another free fitting one at the same locker is reserved. " +
			"With none left, the carrier's full-locker policy applies: 409 (with proposed_site under \"propose\"), or the parcel moves to the nearest locker with room (\"assign\").",
		Tags:   []string{"Courier"},
		Errors: []int{http.StatusForbidden, http.StatusNotFound, http.StatusConflict},
	}, s.handleReportProblem)
}

func (s *Server) handleRedirect(ctx context.Context, p parcelguard.Principal, in *redirectInput) (*reply[Parcel], error) {
	x, err := s.svc.Redirect(ctx, p, in.ID, in.Body.SiteID)
	if err != nil {
		return nil, err
	}
	return &reply[Parcel]{Body: parcelJSON(x)}, nil
}

func (s *Server) handleTrackRedirect(ctx context.Context, a *service.RecipientAccess, in *bodyInput[RedirectRequest]) (*trackOutput, error) {
	if _, err := s.svc.RedirectByRecipient(ctx, a, in.Body.SiteID); err != nil {
		return nil, err
	}
	return s.tracking(ctx, a)
}

func delegateJSON(d *parcelguard.Delegate, g *parcelguard.Grant) Delegate {
	return Delegate{ID: d.GrantID, Name: d.Name, Phone: maskPhone(d.Phone), Email: d.Email, State: string(g.State),
		ExpiresAt: utc(g.ExpiresAt), CreatedAt: utc(d.CreatedAt)}
}

func (s *Server) handleListDelegates(ctx context.Context, a *service.RecipientAccess, _ *struct{}) (*reply[List[Delegate]], error) {
	ds, err := s.svc.Delegates(ctx, a)
	if err != nil {
		return nil, err
	}
	out := List[Delegate]{Items: make([]Delegate, 0, len(ds))}
	for _, d := range ds {
		out.Items = append(out.Items, delegateJSON(d.Delegate, d.Grant))
	}
	return &reply[List[Delegate]]{Body: out}, nil
}

func (s *Server) handleCreateDelegate(ctx context.Context, a *service.RecipientAccess, in *bodyInput[NewDelegate]) (*reply[Delegate], error) {
	d, g, err := s.svc.CreateDelegate(ctx, a, parcelguard.Delegate{Name: in.Body.Name, Phone: in.Body.Phone, Email: in.Body.Email})
	if err != nil {
		return nil, err
	}
	return &reply[Delegate]{Body: delegateJSON(d, g)}, nil
}

func (s *Server) handleRevokeDelegate(ctx context.Context, a *service.RecipientAccess, in *idParam) (*reply[Delegate], error) {
	d, err := s.svc.RevokeDelegate(ctx, a, in.ID)
	if err != nil {
		return nil, err
	}
	return &reply[Delegate]{Body: delegateJSON(d.Delegate, d.Grant)}, nil
}

func (s *Server) handleManifest(ctx context.Context, p parcelguard.Principal, _ *struct{}) (*reply[Manifest], error) {
	m, err := s.svc.CourierManifest(ctx, p)
	if err != nil {
		return nil, err
	}
	out := Manifest{Day: m.Day.Format(time.DateOnly), Lockers: make([]ManifestStop, 0, len(m.Lockers)), Doorstep: []Parcel{}}
	for _, st := range m.Lockers {
		stop := ManifestStop{Site: siteJSON(st.Site), Deposits: make([]Parcel, 0, len(st.Deposits)), Returns: make([]Parcel, 0, len(st.Returns))}
		for _, x := range st.Deposits {
			stop.Deposits = append(stop.Deposits, parcelJSON(x))
		}
		for _, x := range st.Returns {
			stop.Returns = append(stop.Returns, parcelJSON(x))
		}
		out.Lockers = append(out.Lockers, stop)
	}
	for _, d := range m.Doorstep {
		out.Doorstep = append(out.Doorstep, parcelJSON(d.Parcel))
	}
	return &reply[Manifest]{Body: out}, nil
}

func (s *Server) handleReportProblem(ctx context.Context, p parcelguard.Principal, in *problemReportInput) (*reply[Parcel], error) {
	x, err := s.svc.ReportCompartmentProblem(ctx, p, in.ID, in.Body.Reason)
	if err != nil {
		return nil, err
	}
	return &reply[Parcel]{Body: parcelJSON(x)}, nil
}
