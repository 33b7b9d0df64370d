package http

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/parcelguard/parcelguard"
)

// Site is a locker location.
type Site struct {
	ID           string  `json:"id" example:"site_01j9z3k4m5n6p7q8r9s0t1v2w3"`
	Name         string  `json:"name"`
	Address      string  `json:"address"`
	Lat          float64 `json:"lat"`
	Lon          float64 `json:"lon"`
	TimeZone     string  `json:"time_zone,omitempty" doc:"IANA time zone; deadlines are shown in it."`
	OpeningHours string  `json:"opening_hours,omitempty"`
	// StoragePeriodSeconds overrides the carrier's and the default storage
	// period for parcels deposited here; absent means no override.
	StoragePeriodSeconds int64     `json:"storage_period_seconds,omitempty" doc:"Storage period override in seconds; absent means none."`
	CreatedAt            time.Time `json:"created_at"`
	DecommissionedAt     time.Time `json:"decommissioned_at,omitzero" doc:"When the site was taken out of the network; absent while it serves."`
	Version              int64     `json:"version" doc:"Bumped by every change; the ETag is this number in quotes."`
}

// NewSite is the body of POST /v1/sites.
type NewSite struct {
	Name                 string  `json:"name" minLength:"1" maxLength:"200"`
	Address              string  `json:"address" minLength:"1" maxLength:"500"`
	Lat                  float64 `json:"lat" minimum:"-90" maximum:"90"`
	Lon                  float64 `json:"lon" minimum:"-180" maximum:"180"`
	TimeZone             string  `json:"time_zone,omitempty" maxLength:"64" example:"Europe/Warsaw" doc:"IANA time zone; UTC when absent."`
	OpeningHours         string  `json:"opening_hours,omitempty" maxLength:"200" example:"24/7"`
	StoragePeriodSeconds int64   `json:"storage_period_seconds,omitempty" minimum:"0" maximum:"1209600" doc:"Storage period override in seconds, at most 14 days."`
}

func siteJSON(s *parcelguard.Site) Site {
	return Site{
		ID:                   s.ID,
		Name:                 s.Name,
		Address:              s.Address,
		Lat:                  s.Lat,
		Lon:                  s.Lon,
		TimeZone:             s.TimeZone,
		OpeningHours:         s.OpeningHours,
		StoragePeriodSeconds: seconds(s.StoragePeriod),
		CreatedAt:            utc(s.CreatedAt),
		DecommissionedAt:     utc(s.DecommissionedAt),
		Version:              s.Version,
	}
}

func (s *Server) registerSiteRoutes() {
	handle(s, huma.Operation{
		OperationID:   "createSite",
		Method:        http.MethodPost,
		Path:          "/v1/sites",
		Summary:       "Create a site",
		Description:   "Adds a locker site. Operators and admins only.",
		Tags:          []string{"Sites"},
		DefaultStatus: http.StatusCreated,
		Errors:        []int{http.StatusForbidden},
	}, s.handleCreateSite)

	handle(s, huma.Operation{
		OperationID: "getSite",
		Method:      http.MethodGet,
		Path:        "/v1/sites/{id}",
		Summary:     "Get a site",
		Description: "With its version in the ETag header, for a conditional update (If-Match).",
		Tags:        []string{"Sites"},
		Errors:      []int{http.StatusNotFound},
	}, s.handleGetSite)

	handle(s, huma.Operation{
		OperationID: "decommissionSite",
		Method:      http.MethodDelete,
		Path:        "/v1/sites/{id}",
		Summary:     "Decommission a site",
		Description: "Takes the site out of the network: it is no longer found by search or by the full-locker fallback and " +
			"takes no new parcels, redirects or compartments; its history stays readable. Refused (409) while a compartment " +
			"holds a parcel or is reserved for one, or while parcels are announced or redirected to the site. " +
			"Decommissioning a decommissioned site changes nothing. Operators and admins only.",
		Tags:   []string{"Sites"},
		Errors: []int{http.StatusForbidden, http.StatusNotFound, http.StatusConflict},
	}, s.handleDecommissionSite)
}

func (s *Server) handleCreateSite(ctx context.Context, p parcelguard.Principal, in *bodyInput[NewSite]) (*created[Site], error) {
	site, err := s.svc.CreateSite(ctx, p, parcelguard.Site{
		Name:          in.Body.Name,
		Address:       in.Body.Address,
		Lat:           in.Body.Lat,
		Lon:           in.Body.Lon,
		TimeZone:      in.Body.TimeZone,
		OpeningHours:  in.Body.OpeningHours,
		StoragePeriod: time.Duration(in.Body.StoragePeriodSeconds) * time.Second,
	})
	if err != nil {
		return nil, err
	}
	return &created[Site]{Location: "/v1/sites/" + site.ID, Body: siteJSON(site)}, nil
}

func (s *Server) handleGetSite(ctx context.Context, p parcelguard.Principal, in *idParam) (*tagged[Site], error) {
	site, err := s.svc.Site(ctx, p, in.ID)
	if err != nil {
		return nil, err
	}
	return &tagged[Site]{ETag: etag(site.Version), Body: siteJSON(site)}, nil
}

func (s *Server) handleDecommissionSite(ctx context.Context, p parcelguard.Principal, in *idParam) (*tagged[Site], error) {
	site, err := s.svc.DecommissionSite(ctx, p, in.ID)
	if err != nil {
		return nil, err
	}
	return &tagged[Site]{ETag: etag(site.Version), Body: siteJSON(site)}, nil
}
