package http

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/service"
)

// Locker is a provisioned locker agent as operators see it.
type Locker struct {
	SiteID        string     `json:"site_id"`
	SiteName      string     `json:"site_name,omitempty"`
	ProvisionedAt time.Time  `json:"provisioned_at"`
	LastSeenAt    *time.Time `json:"last_seen_at,omitempty" doc:"The latest heartbeat or event from the locker; absent if it never reported."`
	Reachability  string     `json:"reachability" enum:"never_seen,reachable,unreachable" doc:"unreachable once the locker stayed silent longer than the outage sweep's limit; its parcels' storage time is paused meanwhile."`
	// UnreachableSince is the locker's last sign of life before it fell silent.
	UnreachableSince *time.Time `json:"unreachable_since,omitempty"`
	OutOfService     bool       `json:"out_of_service"`
	OutOfServiceNote string     `json:"out_of_service_note,omitempty"`
	PendingCommands  int        `json:"pending_commands" doc:"Commands queued for the locker and not yet handed to the device channel."`
}

func lockerJSON(v service.LockerView) Locker {
	return Locker{SiteID: v.SiteID, SiteName: v.SiteName, ProvisionedAt: utc(v.ProvisionedAt), LastSeenAt: optionalTime(v.LastSeenAt),
		Reachability: v.Reachability, UnreachableSince: optionalTime(v.UnreachableSince), OutOfService: v.OutOfService,
		OutOfServiceNote: v.OutOfServiceNote, PendingCommands: v.PendingCommands}
}

// optionalTime is nil for the zero time, so the field is left out.
func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// RemoteOpenRequest is the body of POST /v1/compartments/{id}/open.
type RemoteOpenRequest struct {
	Reason string `json:"reason" minLength:"1" maxLength:"200" doc:"Why the door is opened; kept in the audit trail." example:"recipient at the locker, code lost"`
}

// RemoteOpen is the answer to a remote open: the command is queued for
// the locker, which opens the door if it receives it within minutes.
type RemoteOpen struct {
	CompartmentID string `json:"compartment_id"`
	State         string `json:"state" enum:"queued"`
	// ValidSeconds is how long the locker will still accept the command.
	ValidSeconds int64 `json:"valid_seconds"`
}

// LockerConfig is the body and answer of POST /v1/sites/{id}/locker/config.
type LockerConfig struct {
	Settings map[string]string `json:"settings" minProperties:"1" maxProperties:"32" doc:"Settings to change: heartbeat_seconds (1 to 3600)."`
}

type remoteOpenInput struct {
	ID   string `path:"id" minLength:"1" maxLength:"64" doc:"Compartment id."`
	Body RemoteOpenRequest
}

type lockerConfigInput struct {
	ID   string `path:"id" minLength:"1" maxLength:"64" doc:"Site id."`
	Body LockerConfig
}

func (s *Server) registerDeviceRoutes() {
	handle(s, huma.Operation{
		OperationID: "listLockers",
		Method:      http.MethodGet,
		Path:        "/v1/lockers",
		Summary:     "List the locker agents",
		Description: "Every provisioned locker with its last contact, whether it is reachable or out of service, and how many " +
			"commands wait for it. Operators and admins only.",
		Tags:   []string{"Lockers"},
		Errors: []int{http.StatusForbidden},
	}, s.handleListLockers)

	handle(s, huma.Operation{
		OperationID: "remoteOpen",
		Method:      http.MethodPost,
		Path:        "/v1/compartments/{id}/open",
		Summary:     "Open one compartment remotely",
		Description: "Queues a signed command for the compartment's locker to open this one door, for someone standing at the " +
			"locker now: the locker refuses it once a few minutes have passed. The act is audited with the reason " +
			"(door.remote_open). There is no way to open more than one door. 422 if the site has no locker agent. " +
			"Operators and admins only.",
		Tags:          []string{"Lockers"},
		DefaultStatus: http.StatusAccepted,
		Errors:        []int{http.StatusForbidden, http.StatusNotFound, http.StatusUnprocessableEntity},
	}, s.handleRemoteOpen)

	handle(s, huma.Operation{
		OperationID: "configureLocker",
		Method:      http.MethodPost,
		Path:        "/v1/sites/{id}/locker/config",
		Summary:     "Change a locker's settings",
		Description: "Queues a signed configuration command for the site's locker; unknown settings and bad values are 422 " +
			"with the offending field. Audited (locker.configured). Operators and admins only.",
		Tags:          []string{"Lockers"},
		DefaultStatus: http.StatusAccepted,
		Errors:        []int{http.StatusForbidden, http.StatusNotFound, http.StatusUnprocessableEntity},
	}, s.handleConfigureLocker)
}

func (s *Server) handleListLockers(ctx context.Context, p parcelguard.Principal, _ *struct{}) (*reply[List[Locker]], error) {
	vs, err := s.svc.LockerOverview(ctx, p)
	if err != nil {
		return nil, err
	}
	out := List[Locker]{Items: make([]Locker, 0, len(vs))}
	for _, v := range vs {
		out.Items = append(out.Items, lockerJSON(v))
	}
	return &reply[List[Locker]]{Body: out}, nil
}

func (s *Server) handleRemoteOpen(ctx context.Context, p parcelguard.Principal, in *remoteOpenInput) (*reply[RemoteOpen], error) {
	if err := s.svc.RemoteOpen(ctx, p, in.ID, in.Body.Reason); err != nil {
		return nil, err
	}
	return &reply[RemoteOpen]{Body: RemoteOpen{CompartmentID: in.ID, State: "queued", ValidSeconds: seconds(service.RemoteOpenLifetime)}}, nil
}

func (s *Server) handleConfigureLocker(ctx context.Context, p parcelguard.Principal, in *lockerConfigInput) (*reply[LockerConfig], error) {
	if err := s.svc.ConfigureLocker(ctx, p, in.ID, in.Body.Settings); err != nil {
		return nil, err
	}
	return &reply[LockerConfig]{Body: in.Body}, nil
}
