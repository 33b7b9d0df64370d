package http

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/service"
)

// The doorstep routes: carriers announce doorstep shipments and set their
// password policy; couriers send parcels out, verify the password the
// recipient tells them (always on the server, SECURITY.md 12), record
// failed attempts and offline handovers; operators review offline records
// that did not verify. No courier answer ever carries a password.

// DoorstepPolicy is a carrier's rule for delivery passwords.
type DoorstepPolicy struct {
	CarrierID      string    `json:"carrier_id" readOnly:"true"`
	ValueThreshold int64     `json:"value_threshold" minimum:"0" doc:"Declared value (minor units) at or above which a password is needed; 0 switches the rule off."`
	Currency       string    `json:"currency,omitempty" pattern:"^[A-Z]{3}$" doc:"The value rule applies only to shipments declared in this currency; empty for any."`
	Categories     []string  `json:"categories" nullable:"false" maxItems:"50" doc:"Shipments in any of these categories need a password."`
	ShipmentFlag   bool      `json:"shipment_flag" doc:"Honour the per-shipment password flag."`
	RecipientOptIn bool      `json:"recipient_opt_in" doc:"Honour a recipient's request for a password."`
	MaxAttempts    int       `json:"max_attempts" minimum:"1" maximum:"10" doc:"Failed attempts before the fallback."`
	Fallback       string    `json:"fallback" enum:"locker,return" doc:"After the last attempt: the nearest locker with room, or back to the sender."`
	RadiusM        float64   `json:"radius_m" minimum:"10" maximum:"5000" doc:"How far from the address a courier may verify."`
	LockerSearchM  float64   `json:"locker_search_m" minimum:"100" maximum:"100000" doc:"How far to look for a redirect locker."`
	UpdatedAt      time.Time `json:"updated_at,omitzero" readOnly:"true"`
}

func policyJSON(p *parcelguard.DoorstepPolicy) DoorstepPolicy {
	cats := p.Categories
	if cats == nil {
		cats = []string{}
	}
	return DoorstepPolicy{CarrierID: p.CarrierID, ValueThreshold: p.ValueThreshold, Currency: p.Currency, Categories: cats,
		ShipmentFlag: p.ShipmentFlag, RecipientOptIn: p.RecipientOptIn, MaxAttempts: p.MaxAttempts, Fallback: string(p.Fallback),
		RadiusM: p.RadiusM, LockerSearchM: p.LockerSearchM, UpdatedAt: utc(p.UpdatedAt)}
}

// NewDoorstepParcel is the body of POST /v1/doorstep/parcels.
type NewDoorstepParcel struct {
	TrackingNumber string       `json:"tracking_number" pattern:"^[A-Za-z0-9-]{4,40}$" example:"PG-000123"`
	Recipient      NewRecipient `json:"recipient"`
	Size           string       `json:"size" enum:"S,M,L,XL" doc:"Picks the compartment if the parcel is redirected to a locker."`
	DeclaredValue  int64        `json:"declared_value,omitempty" minimum:"0" doc:"In minor units of currency."`
	Currency       string       `json:"currency,omitempty" pattern:"^[A-Z]{3}$" example:"EUR"`
	CarrierID      string       `json:"carrier_id,omitempty" maxLength:"64" doc:"Operators and admins name the carrier; carrier keys must leave it out."`
	Address        string       `json:"address" minLength:"1" maxLength:"500"`
	Lat            float64      `json:"lat" minimum:"-90" maximum:"90"`
	Lon            float64      `json:"lon" minimum:"-180" maximum:"180"`
	TimeZone       string       `json:"time_zone" maxLength:"64" example:"Europe/Berlin" doc:"The recipient's IANA zone: the delivery day and the password's lifetime are reckoned in it."`
	Country        string       `json:"country" pattern:"^[A-Z]{2}$" example:"DE" doc:"ISO 3166-1 alpha-2; its public holidays shape redelivery."`
	DeliveryDate   string       `json:"delivery_date,omitempty" format:"date" doc:"Planned delivery date, for the manifest."`
	Categories     []string     `json:"categories,omitempty" maxItems:"20"`
	PasswordFlag   bool         `json:"password_flag,omitempty" doc:"The carrier asks for a delivery password for this shipment."`
	RecipientOptIn bool         `json:"recipient_opt_in,omitempty" doc:"The recipient asked for a delivery password."`
}

// Doorstep is a doorstep delivery as the API shows it.
type Doorstep struct {
	Parcel           Parcel         `json:"parcel"`
	Address          string         `json:"address"`
	Lat              float64        `json:"lat"`
	Lon              float64        `json:"lon"`
	TimeZone         string         `json:"time_zone"`
	Country          string         `json:"country"`
	PasswordRequired bool           `json:"password_required"`
	PasswordReason   string         `json:"password_reason,omitempty" enum:"value,category,carrier_flag,recipient_opt_in"`
	DeliveryDate     string         `json:"delivery_date,omitempty" doc:"The current or next delivery date."`
	RouteSeq         int            `json:"route_seq"`
	Attempts         int            `json:"attempts" doc:"Failed attempts so far."`
	LastReason       string         `json:"last_reason,omitempty" doc:"Why the last attempt failed: a courier's reason, or not_delivered when the delivery date ended with nobody attempting it."`
	PasswordLocked   bool           `json:"password_locked" doc:"Too many wrong passwords today: disabled until the next attempt."`
	Proof            *DoorstepProof `json:"proof,omitempty"`
}

// DoorstepProof is the record of a completed doorstep handover.
type DoorstepProof struct {
	VerifiedBy   string    `json:"verified_by" enum:"recipient,delegate,none" doc:"Whose password verified; none when the policy needed none."`
	DelegateName string    `json:"delegate_name,omitempty"`
	PasswordID   string    `json:"password_id,omitempty"`
	Courier      string    `json:"courier" doc:"The courier's key, as audited."`
	Lat          float64   `json:"lat"`
	Lon          float64   `json:"lon"`
	DistanceM    float64   `json:"distance_m" doc:"The courier's distance from the address."`
	At           time.Time `json:"at"`
	Offline      bool      `json:"offline"`
	RecordedAt   time.Time `json:"recorded_at,omitzero" doc:"When the courier's app recorded an offline handover."`
}

func proofJSON(p *parcelguard.DoorstepProof) *DoorstepProof {
	if p == nil {
		return nil
	}
	by := string(p.Holder)
	if by == "" {
		by = "none"
	}
	return &DoorstepProof{VerifiedBy: by, DelegateName: p.DelegateName, PasswordID: p.PasswordID, Courier: p.Courier,
		Lat: p.Lat, Lon: p.Lon, DistanceM: p.DistanceM, At: utc(p.At), Offline: p.Offline, RecordedAt: utc(p.RecordedAt)}
}

func doorstepJSON(x *parcelguard.Parcel, d *parcelguard.Doorstep, proof *parcelguard.DoorstepProof) Doorstep {
	return Doorstep{Parcel: parcelJSON(x), Address: d.Address, Lat: d.Lat, Lon: d.Lon, TimeZone: d.TimeZone, Country: d.Country,
		PasswordRequired: d.NeedsPassword(), PasswordReason: string(d.PasswordReason), DeliveryDate: d.Date.String(),
		RouteSeq: d.RouteSeq, Attempts: d.Attempts, LastReason: string(d.LastReason), PasswordLocked: d.Locked, Proof: proofJSON(proof)}
}

// OutForDelivery is the body of POST /v1/doorstep/parcels/{id}/out-for-delivery.
type OutForDelivery struct {
	RouteSeq int `json:"route_seq,omitempty" minimum:"0" maximum:"100000" doc:"Place in the courier's route; 0 keeps the current one."`
}

// VerifyDoorstep is the body of POST /v1/doorstep/parcels/{id}/verify.
type VerifyDoorstep struct {
	Password string  `json:"password,omitempty" pattern:"^[0-9]{6}$" doc:"The password the recipient or their delegate told the courier; omit when none is needed."`
	Lat      float64 `json:"lat" minimum:"-90" maximum:"90" doc:"The courier's position."`
	Lon      float64 `json:"lon" minimum:"-180" maximum:"180"`
}

// FailedAttempt is the body of POST /v1/doorstep/parcels/{id}/attempts.
type FailedAttempt struct {
	Reason string  `json:"reason" enum:"not_at_home,wrong_password,refused,address_not_accessible"`
	Lat    float64 `json:"lat" minimum:"-90" maximum:"90" doc:"The courier's position, recorded with the attempt; it must be within the carrier's radius of the address."`
	Lon    float64 `json:"lon" minimum:"-180" maximum:"180"`
}

// OfflineHandover is the body of POST /v1/doorstep/parcels/{id}/offline.
type OfflineHandover struct {
	Password   string    `json:"password" pattern:"^[0-9]{6}$" doc:"The password the courier was told while offline."`
	Lat        float64   `json:"lat" minimum:"-90" maximum:"90"`
	Lon        float64   `json:"lon" minimum:"-180" maximum:"180"`
	RecordedAt time.Time `json:"recorded_at" doc:"When the app recorded the handover."`
}

// OfflineEntry is a handover recorded offline and its verification.
type OfflineEntry struct {
	ID         string    `json:"id"`
	ParcelID   string    `json:"parcel_id"`
	CarrierID  string    `json:"carrier_id"`
	Courier    string    `json:"courier"`
	Lat        float64   `json:"lat"`
	Lon        float64   `json:"lon"`
	RecordedAt time.Time `json:"recorded_at"`
	State      string    `json:"state" enum:"pending,verified,mismatch"`
	Problems   []string  `json:"problems,omitempty" doc:"What did not match: password, position, time, state."`
	CreatedAt  time.Time `json:"created_at"`
	VerifiedAt time.Time `json:"verified_at,omitzero"`
}

func offlineJSON(e *parcelguard.OfflineEntry) OfflineEntry {
	return OfflineEntry{ID: e.ID, ParcelID: e.ParcelID, CarrierID: e.CarrierID, Courier: e.Courier, Lat: e.Lat, Lon: e.Lon,
		RecordedAt: utc(e.RecordedAt), State: string(e.State), Problems: e.Problems, CreatedAt: utc(e.CreatedAt), VerifiedAt: utc(e.VerifiedAt)}
}

type offlineListInput struct {
	State  string `query:"state" enum:"pending,verified,mismatch" doc:"Only records in this state."`
	Cursor string `query:"cursor" maxLength:"64"`
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"100"`
}

type manifestInput struct {
	Date string `query:"date" format:"date" doc:"The delivery date, YYYY-MM-DD; if left out, each delivery's today in its recipient's time zone."`
}

type policyInput struct {
	ID   string `path:"id" minLength:"1" maxLength:"64"`
	Body DoorstepPolicy
}

type parcelBody[T any] struct {
	ID   string `path:"id" minLength:"1" maxLength:"64"`
	Body T
}

func (s *Server) registerDoorstepRoutes() {
	ops := func(id, method, path, summary, desc string, errs ...int) huma.Operation {
		return huma.Operation{OperationID: id, Method: method, Path: path, Summary: summary, Description: desc,
			Tags: []string{"Doorstep"}, Errors: append([]int{http.StatusForbidden, http.StatusNotFound}, errs...)}
	}
	handle(s, ops("getDoorstepPolicy", http.MethodGet, "/v1/carriers/{id}/doorstep-policy", "A carrier's doorstep password policy",
		"The saved policy, or the default (carrier flag and recipient opt-in, 3 attempts, then the nearest locker)."), s.handleGetPolicy)
	handle(s, ops("setDoorstepPolicy", http.MethodPut, "/v1/carriers/{id}/doorstep-policy", "Set a carrier's doorstep password policy",
		"Applies to shipments announced afterwards.", http.StatusUnprocessableEntity), s.handleSetPolicy)
	handle(s, ops("announceDoorstep", http.MethodPost, "/v1/doorstep/parcels", "Announce a doorstep shipment",
		"Registers a parcel for delivery to the door; the carrier's policy decides whether it needs a delivery password."),
		s.handleAnnounceDoorstep)
	handle(s, ops("getDoorstep", http.MethodGet, "/v1/doorstep/parcels/{id}", "A doorstep delivery",
		"The parcel, its delivery record and, once delivered, the proof."), s.handleGetDoorstep)
	handle(s, ops("outForDelivery", http.MethodPost, "/v1/doorstep/parcels/{id}/out-for-delivery", "Send a parcel out for delivery",
		"Today in the recipient's zone. A parcel that needs a password gets a new one, sent to the recipient by e-mail and SMS; this answer never carries it.",
		http.StatusConflict), s.handleOutForDelivery)
	handle(s, ops("verifyDoorstep", http.MethodPost, "/v1/doorstep/parcels/{id}/verify", "Verify the delivery password and hand over",
		"The courier, at the address, submits the password they were told. 403 rejected for a wrong password; the fifth wrong one on a day disables the day's passwords (403 locked), fails the attempt and tells the recipient. 403 forbidden when the courier is not within the carrier's radius of the address.",
		http.StatusConflict), s.handleVerifyDoorstep)
	handle(s, ops("failDoorstepAttempt", http.MethodPost, "/v1/doorstep/parcels/{id}/attempts", "Record a failed delivery attempt",
		"The courier must be within the carrier's radius of the address, as for a verification: 403 forbidden (audited, no attempt spent) otherwise; the parcel stays out for delivery, and the end of its delivery date records an unattempted delivery as not_delivered. Reschedules to the next working day of the recipient's country with a new password, or after the carrier's last attempt redirects to the nearest locker with room or returns the parcel.",
		http.StatusConflict), s.handleFailAttempt)
	handle(s, ops("submitOfflineHandover", http.MethodPost, "/v1/doorstep/parcels/{id}/offline", "Sync a handover recorded offline",
		"Stored as pending and verified at once: verified delivers the parcel; mismatch raises an operator alarm.",
		http.StatusConflict), s.handleSubmitOffline)
	handle(s, ops("listOfflineHandovers", http.MethodGet, "/v1/doorstep/offline", "Offline handover records",
		"For operators (all) and carriers (their own); ?state=mismatch lists those waiting for an operator."), s.handleListOffline)
	handle(s, ops("doorstepManifest", http.MethodGet, "/v1/doorstep/manifest", "The doorstep deliveries of a day",
		"In route order. Carrier and courier keys see their carrier's only."), s.handleDoorstepManifest)

	handleRecipient(s, huma.Operation{OperationID: "trackDoorstep", Method: http.MethodGet, Path: "/v1/track/doorstep",
		Summary: "The delivery password and delegates (recipient)", Tags: []string{"Recipient"},
		Description: "Today's delivery password, the delegate passwords and, once delivered, who received the parcel. Must not be cached.",
		Errors:      []int{http.StatusConflict}}, s.handleTrackDoorstep)
	handleRecipient(s, huma.Operation{OperationID: "createDoorstepDelegate", Method: http.MethodPost, Path: "/v1/track/doorstep/delegates",
		Summary: "Name a delegate to receive the parcel (recipient)", Tags: []string{"Recipient"},
		Description: "Issues a separate delivery password for the named person, replacing any earlier delegate; sent to them when a phone or e-mail is given. The answer carries the password once and is not replayable.",
		Errors:      []int{http.StatusConflict}, Metadata: map[string]any{metaOneTimeSecret: true}}, s.handleCreateDoorstepDelegate)
	handleRecipient(s, huma.Operation{OperationID: "revokeDoorstepDelegate", Method: http.MethodPost, Path: "/v1/track/doorstep/delegates/{id}/revoke",
		Summary: "Withdraw a delegate's password (recipient)", Tags: []string{"Recipient"},
		Errors: []int{http.StatusNotFound, http.StatusConflict}}, s.handleRevokeDoorstepDelegate)
}

func (s *Server) handleGetPolicy(ctx context.Context, p parcelguard.Principal, in *idParam) (*reply[DoorstepPolicy], error) {
	pol, err := s.svc.DoorstepPolicy(ctx, p, in.ID)
	if err != nil {
		return nil, err
	}
	return &reply[DoorstepPolicy]{Body: policyJSON(pol)}, nil
}

func (s *Server) handleSetPolicy(ctx context.Context, p parcelguard.Principal, in *policyInput) (*reply[DoorstepPolicy], error) {
	b := in.Body
	pol, err := s.svc.SetDoorstepPolicy(ctx, p, parcelguard.DoorstepPolicy{CarrierID: in.ID, ValueThreshold: b.ValueThreshold,
		Currency: b.Currency, Categories: b.Categories, ShipmentFlag: b.ShipmentFlag, RecipientOptIn: b.RecipientOptIn,
		MaxAttempts: b.MaxAttempts, Fallback: parcelguard.DoorstepFallback(b.Fallback), RadiusM: b.RadiusM, LockerSearchM: b.LockerSearchM})
	if err != nil {
		return nil, err
	}
	return &reply[DoorstepPolicy]{Body: policyJSON(pol)}, nil
}

func (s *Server) handleAnnounceDoorstep(ctx context.Context, p parcelguard.Principal, in *bodyInput[NewDoorstepParcel]) (*created[Doorstep], error) {
	b := in.Body
	var date parcelguard.DeliveryDate
	if b.DeliveryDate != "" {
		var err error
		if date, err = parcelguard.ParseDeliveryDate(b.DeliveryDate); err != nil {
			return nil, parcelguard.Invalid(parcelguard.FieldError{Field: "delivery_date", Message: "must be YYYY-MM-DD"})
		}
	}
	if p.Role == parcelguard.RoleCarrier && b.CarrierID != "" && b.CarrierID != p.CarrierID {
		return nil, parcelguard.Invalid(parcelguard.FieldError{Field: "carrier_id",
			Message: "must be left out: a carrier key announces for its own carrier"})
	}
	x := parcelguard.Parcel{CarrierID: b.CarrierID, TrackingNumber: b.TrackingNumber,
		Recipient: parcelguard.Recipient{Name: b.Recipient.Name, Phone: b.Recipient.Phone, Email: b.Recipient.Email,
			Language: b.Recipient.Language},
		Size: parcelguard.SizeClass(b.Size), DeclaredValue: b.DeclaredValue, Currency: b.Currency}
	out, err := s.svc.AnnounceDoorstep(ctx, p, service.DoorstepAnnouncement{Parcel: x, Address: b.Address, Lat: b.Lat, Lon: b.Lon,
		TimeZone: b.TimeZone, Country: b.Country, Date: date, Categories: b.Categories, PasswordFlag: b.PasswordFlag, OptIn: b.RecipientOptIn})
	if err != nil {
		return nil, err
	}
	return &created[Doorstep]{Location: "/v1/doorstep/parcels/" + out.Parcel.ID, Body: doorstepJSON(out.Parcel, out.Doorstep, nil)}, nil
}

func (s *Server) handleGetDoorstep(ctx context.Context, p parcelguard.Principal, in *idParam) (*reply[Doorstep], error) {
	out, err := s.svc.DoorstepParcel(ctx, p, in.ID)
	if err != nil {
		return nil, err
	}
	return &reply[Doorstep]{Body: doorstepJSON(out.Parcel, out.Doorstep, out.Proof)}, nil
}

func (s *Server) handleOutForDelivery(ctx context.Context, p parcelguard.Principal, in *parcelBody[OutForDelivery]) (*reply[Doorstep], error) {
	out, err := s.svc.OutForDelivery(ctx, p, in.ID, in.Body.RouteSeq)
	if err != nil {
		return nil, err
	}
	return &reply[Doorstep]{Body: doorstepJSON(out.Parcel, out.Doorstep, nil)}, nil
}

func (s *Server) handleVerifyDoorstep(ctx context.Context, p parcelguard.Principal, in *parcelBody[VerifyDoorstep]) (*reply[DoorstepProof], error) {
	proof, err := s.svc.VerifyDoorstep(ctx, p, in.ID, in.Body.Password, service.Position{Lat: in.Body.Lat, Lon: in.Body.Lon})
	if err != nil {
		return nil, err
	}
	return &reply[DoorstepProof]{Body: *proofJSON(proof)}, nil
}

func (s *Server) handleFailAttempt(ctx context.Context, p parcelguard.Principal, in *parcelBody[FailedAttempt]) (*reply[Doorstep], error) {
	out, err := s.svc.FailAttempt(ctx, p, in.ID, parcelguard.AttemptReason(in.Body.Reason), service.Position{Lat: in.Body.Lat, Lon: in.Body.Lon})
	if err != nil {
		return nil, err
	}
	return &reply[Doorstep]{Body: doorstepJSON(out.Parcel, out.Doorstep, nil)}, nil
}

func (s *Server) handleSubmitOffline(ctx context.Context, p parcelguard.Principal, in *parcelBody[OfflineHandover]) (*reply[OfflineEntry], error) {
	e, err := s.svc.SubmitOffline(ctx, p, in.ID, service.OfflineInput{Password: in.Body.Password,
		Position: service.Position{Lat: in.Body.Lat, Lon: in.Body.Lon}, RecordedAt: in.Body.RecordedAt})
	if err != nil {
		return nil, err
	}
	return &reply[OfflineEntry]{Body: offlineJSON(e)}, nil
}

func (s *Server) handleListOffline(ctx context.Context, p parcelguard.Principal, in *offlineListInput) (*reply[List[OfflineEntry]], error) {
	es, err := s.svc.OfflineEntries(ctx, p, parcelguard.OfflineFilter{State: parcelguard.OfflineState(in.State), After: in.Cursor, Limit: in.Limit})
	if err != nil {
		return nil, err
	}
	out := List[OfflineEntry]{Items: make([]OfflineEntry, 0, len(es))}
	for _, e := range es {
		out.Items = append(out.Items, offlineJSON(e))
	}
	if len(es) == in.Limit {
		out.NextCursor = es[len(es)-1].ID
	}
	return &reply[List[OfflineEntry]]{Body: out}, nil
}

func (s *Server) handleDoorstepManifest(ctx context.Context, p parcelguard.Principal, in *manifestInput) (*reply[List[Doorstep]], error) {
	var day parcelguard.DeliveryDate // zero: today where each delivery is
	if in.Date != "" {
		var err error
		if day, err = parcelguard.ParseDeliveryDate(in.Date); err != nil {
			return nil, parcelguard.Invalid(parcelguard.FieldError{Field: "date", Message: "must be YYYY-MM-DD"})
		}
	}
	stops, err := s.svc.DoorstepManifest(ctx, p, day)
	if err != nil {
		return nil, err
	}
	out := List[Doorstep]{Items: make([]Doorstep, 0, len(stops))}
	for _, st := range stops {
		out.Items = append(out.Items, doorstepJSON(st.Parcel, st.Doorstep, nil))
	}
	return &reply[List[Doorstep]]{Body: out}, nil
}

// DoorstepTracking is the recipient's view of a doorstep delivery.
type DoorstepTracking struct {
	DeliveryDate      string             `json:"delivery_date,omitempty"`
	PasswordRequired  bool               `json:"password_required"`
	Password          string             `json:"password,omitempty" doc:"Today's delivery password: tell it only to the courier at the door."`
	PasswordExpiresAt time.Time          `json:"password_expires_at,omitzero"`
	PasswordLocked    bool               `json:"password_locked"`
	Delegates         []DoorstepDelegate `json:"delegates" nullable:"false"`
	Proof             *DoorstepProof     `json:"proof,omitempty"`
}

// DoorstepDelegate is a delegate password as its recipient sees it.
type DoorstepDelegate struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	State     string    `json:"state" enum:"active,used,locked,expired,revoked"`
	Date      string    `json:"date"`
	ExpiresAt time.Time `json:"expires_at"`
	Password  string    `json:"password,omitempty" doc:"The delegate's password while it is active."`
}

// NewDoorstepDelegate is the body of POST /v1/track/doorstep/delegates.
type NewDoorstepDelegate struct {
	Name  string `json:"name" minLength:"1" maxLength:"200"`
	Phone string `json:"phone,omitempty" pattern:"^\\+[1-9][0-9]{6,14}$" doc:"Send the password to the delegate by SMS."`
	Email string `json:"email,omitempty" maxLength:"254" doc:"Send the password to the delegate by e-mail."`
}

func doorstepDelegateJSON(d service.DelegateView) DoorstepDelegate {
	return DoorstepDelegate{ID: d.ID, Name: d.Name, State: string(d.State), Date: d.Date.String(), ExpiresAt: utc(d.ExpiresAt), Password: d.Code}
}

type noStore[T any] struct {
	CacheControl string `header:"Cache-Control"`
	Body         T
}

func (s *Server) handleTrackDoorstep(ctx context.Context, a *service.RecipientAccess, _ *struct{}) (*noStore[DoorstepTracking], error) {
	t, err := s.svc.TrackDoorstep(ctx, a)
	if err != nil {
		return nil, err
	}
	out := DoorstepTracking{DeliveryDate: t.Doorstep.Date.String(), PasswordRequired: t.Doorstep.NeedsPassword(), Password: t.Password,
		PasswordExpiresAt: utc(t.PasswordExpiresAt), PasswordLocked: t.Doorstep.Locked, Delegates: []DoorstepDelegate{}, Proof: proofJSON(t.Proof)}
	for _, d := range t.Delegates {
		out.Delegates = append(out.Delegates, doorstepDelegateJSON(d))
	}
	return &noStore[DoorstepTracking]{CacheControl: "no-store", Body: out}, nil
}

func (s *Server) handleCreateDoorstepDelegate(ctx context.Context, a *service.RecipientAccess, in *bodyInput[NewDoorstepDelegate]) (*noStore[DoorstepDelegate], error) {
	d, err := s.svc.CreateDoorstepDelegate(ctx, a, service.DelegateInput{Name: in.Body.Name, Phone: in.Body.Phone, Email: in.Body.Email})
	if err != nil {
		return nil, err
	}
	return &noStore[DoorstepDelegate]{CacheControl: "no-store", Body: doorstepDelegateJSON(*d)}, nil
}

func (s *Server) handleRevokeDoorstepDelegate(ctx context.Context, a *service.RecipientAccess, in *idParam) (*reply[DoorstepDelegate], error) {
	d, err := s.svc.RevokeDoorstepDelegate(ctx, a, in.ID)
	if err != nil {
		return nil, err
	}
	return &reply[DoorstepDelegate]{Body: doorstepDelegateJSON(*d)}, nil
}
