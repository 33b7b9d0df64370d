package http

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/service"
)

// Site search, site and carrier updates, and API key listing and
// revocation.

// SiteSearchResult is a site near the searched point.
type SiteSearchResult struct {
	Site
	DistanceM float64 `json:"distance_m" doc:"Great-circle distance from the searched point in metres."`
	// FreeCompartments counts free compartments per size class.
	FreeCompartments map[string]int `json:"free_compartments" doc:"Free compartments per size class (S, M, L, XL)."`
	MapURL           string         `json:"map_url" doc:"The locker on OpenStreetMap."`
}

type searchSitesInput struct {
	Lat    float64 `query:"lat" required:"true" minimum:"-90" maximum:"90" doc:"Latitude of the point, WGS 84 degrees."`
	Lon    float64 `query:"lon" required:"true" minimum:"-180" maximum:"180" doc:"Longitude of the point, WGS 84 degrees."`
	Radius float64 `query:"radius" minimum:"1" maximum:"50000" default:"2000" doc:"Search radius in metres."`
	Size   string  `query:"size" enum:"S,M,L,XL" doc:"Only sites with a free compartment a parcel of this size fits."`
	Limit  int     `query:"limit" minimum:"1" maximum:"100" default:"20"`
}

// SiteUpdate is the body of PATCH /v1/sites/{id}; absent fields stay.
type SiteUpdate struct {
	Name                 *string  `json:"name,omitempty" minLength:"1" maxLength:"200"`
	Address              *string  `json:"address,omitempty" minLength:"1" maxLength:"500"`
	Lat                  *float64 `json:"lat,omitempty" minimum:"-90" maximum:"90"`
	Lon                  *float64 `json:"lon,omitempty" minimum:"-180" maximum:"180"`
	TimeZone             *string  `json:"time_zone,omitempty" maxLength:"64" example:"Europe/Warsaw"`
	OpeningHours         *string  `json:"opening_hours,omitempty" maxLength:"200" example:"Mo-Sa 06:00-22:00"`
	StoragePeriodSeconds *int64   `json:"storage_period_seconds,omitempty" minimum:"0" maximum:"1209600" doc:"0 removes the override."`
}

// CarrierDetail is a carrier with its full-locker policy.
type CarrierDetail struct {
	Carrier
	Fallback             string `json:"fallback" enum:"reject,propose,assign" doc:"What happens when the chosen locker has no free compartment of the parcel's size: refuse (reject), refuse naming the nearest locker with room (propose), or move the parcel there and tell the recipient (assign)."`
	FallbackMaxDistanceM int    `json:"fallback_max_distance_m" doc:"How far from the chosen locker a fallback locker may be, in metres; 0 disables the fallback."`
}

// CarrierUpdate is the body of PATCH /v1/carriers/{id}; absent fields stay.
type CarrierUpdate struct {
	Name                 *string `json:"name,omitempty" minLength:"1" maxLength:"200"`
	PhoneFactor          *bool   `json:"phone_factor,omitempty"`
	StoragePeriodSeconds *int64  `json:"storage_period_seconds,omitempty" minimum:"0" maximum:"1209600"`
	Fallback             *string `json:"fallback,omitempty" enum:"reject,propose,assign"`
	FallbackMaxDistanceM *int    `json:"fallback_max_distance_m,omitempty" minimum:"0" maximum:"50000"`
}

// APIKey is a stored key as listed: never its token.
type APIKey struct {
	Prefix    string    `json:"prefix"`
	Role      string    `json:"role"`
	CarrierID string    `json:"carrier_id,omitempty"`
	SiteID    string    `json:"site_id,omitempty"`
	Name      string    `json:"name,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	RevokedAt time.Time `json:"revoked_at,omitzero" doc:"When the key was revoked; absent while it works."`
}

type listCursorInput struct {
	Cursor string `query:"cursor" maxLength:"64" doc:"next_cursor of the previous page."`
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"100"`
}

type listAPIKeysInput struct {
	CarrierID string `query:"carrier_id" maxLength:"64"`
	Role      string `query:"role" enum:"admin,operator,carrier,courier,kiosk"`
	Cursor    string `query:"cursor" maxLength:"64" doc:"next_cursor of the previous page."`
	Limit     int    `query:"limit" minimum:"1" maximum:"500" default:"100"`
}

type patchSiteInput struct {
	ID      string `path:"id" minLength:"1" maxLength:"64" doc:"Site id."`
	IfMatch string `header:"If-Match" maxLength:"256" doc:"Required. The ETag of the version you change, such as \"3\" (GET or the last change returned it), or * for whatever version is current. Without it: 428; if the thing changed since: 412, read it again."`
	Body    SiteUpdate
}

type patchCarrierInput struct {
	ID      string `path:"id" minLength:"1" maxLength:"64" doc:"Carrier id."`
	IfMatch string `header:"If-Match" maxLength:"256" doc:"Required. The ETag of the version you change, such as \"3\" (GET or the last change returned it), or * for whatever version is current. Without it: 428; if the thing changed since: 412, read it again."`
	Body    CarrierUpdate
}

type prefixParam struct {
	Prefix string `path:"prefix" minLength:"1" maxLength:"64" doc:"The key's prefix."`
}

func (s *Server) registerNetworkRoutes() {
	handlePublic(s, huma.Operation{
		OperationID: "searchSites",
		Method:      http.MethodGet,
		Path:        "/v1/sites/search",
		Summary:     "Find lockers near a point",
		Description: "Sites within the radius of a point, nearest first, with free compartments per size class and opening hours. " +
			"Needs no key; limited per client address.",
		Tags:   []string{"Sites"},
		Errors: []int{http.StatusUnprocessableEntity, http.StatusTooManyRequests},
	}, s.handleSearchSites)

	handle(s, huma.Operation{
		OperationID: "updateSite",
		Method:      http.MethodPatch,
		Path:        "/v1/sites/{id}",
		Summary:     "Update a site",
		Description: "Changes the fields given, if the site is still at the version named in If-Match (see the header). " +
			"A decommissioned site cannot change (409). Operators and admins only.",
		Tags: []string{"Sites"},
		Errors: []int{http.StatusForbidden, http.StatusNotFound, http.StatusConflict, http.StatusPreconditionFailed,
			http.StatusUnprocessableEntity, http.StatusPreconditionRequired},
	}, s.handleUpdateSite)

	handle(s, huma.Operation{
		OperationID: "listCarriers",
		Method:      http.MethodGet,
		Path:        "/v1/carriers",
		Summary:     "List carriers",
		Description: "With their full-locker policies, in id order. Operators and admins see every carrier, a carrier key its own.",
		Tags:        []string{"Carriers"},
		Errors:      []int{http.StatusForbidden},
	}, s.handleListCarriers)

	handle(s, huma.Operation{
		OperationID: "updateCarrier",
		Method:      http.MethodPatch,
		Path:        "/v1/carriers/{id}",
		Summary:     "Update a carrier and its full-locker policy",
		Description: "Changes the fields given, if the carrier is still at the version named in If-Match (the `version` " +
			"of its listing, in quotes). Operators and admins only.",
		Tags: []string{"Carriers"},
		Errors: []int{http.StatusForbidden, http.StatusNotFound, http.StatusPreconditionFailed,
			http.StatusUnprocessableEntity, http.StatusPreconditionRequired},
	}, s.handleUpdateCarrier)

	handle(s, huma.Operation{
		OperationID: "listAPIKeys",
		Method:      http.MethodGet,
		Path:        "/v1/api-keys",
		Summary:     "List API keys",
		Description: "Prefixes, roles and bindings; never a token. Admins only.",
		Tags:        []string{"Admin"},
		Errors:      []int{http.StatusForbidden},
	}, s.handleListAPIKeys)

	handle(s, huma.Operation{
		OperationID: "revokeAPIKey",
		Method:      http.MethodDelete,
		Path:        "/v1/api-keys/{prefix}",
		Summary:     "Revoke an API key",
		Description: "The key stops authenticating with the next request. Revoking a revoked key changes nothing. Admins only.",
		Tags:        []string{"Admin"},
		Errors:      []int{http.StatusForbidden, http.StatusNotFound},
	}, s.handleRevokeAPIKey)
}

func (s *Server) handleSearchSites(ctx context.Context, in *searchSitesInput) (*reply[List[SiteSearchResult]], error) {
	found, err := s.svc.SearchSites(ctx, service.SiteQuery{Lat: in.Lat, Lon: in.Lon, RadiusM: in.Radius,
		Size: parcelguard.SizeClass(in.Size), Limit: in.Limit})
	if err != nil {
		return nil, err
	}
	out := List[SiteSearchResult]{Items: make([]SiteSearchResult, 0, len(found))}
	for _, m := range found {
		free := make(map[string]int, len(m.Free))
		for _, c := range parcelguard.SizeClasses {
			free[string(c)] = m.Free[c]
		}
		out.Items = append(out.Items, SiteSearchResult{Site: siteJSON(m.Site), DistanceM: roundM(m.DistanceM),
			FreeCompartments: free, MapURL: mapURL(m.Site.Lat, m.Site.Lon)})
	}
	return &reply[List[SiteSearchResult]]{Body: out}, nil
}

// roundM rounds a distance to whole metres.
func roundM(d float64) float64 { return float64(int64(d + 0.5)) }

func (s *Server) handleUpdateSite(ctx context.Context, p parcelguard.Principal, in *patchSiteInput) (*tagged[Site], error) {
	b := in.Body
	up := service.SiteUpdate{Name: b.Name, Address: b.Address, Lat: b.Lat, Lon: b.Lon, TimeZone: b.TimeZone, OpeningHours: b.OpeningHours,
		If: precondition(in.IfMatch)}
	if b.StoragePeriodSeconds != nil {
		d := time.Duration(*b.StoragePeriodSeconds) * time.Second
		up.StoragePeriod = &d
	}
	site, err := s.svc.UpdateSite(ctx, p, in.ID, up)
	if err != nil {
		return nil, err
	}
	return &tagged[Site]{ETag: etag(site.Version), Body: siteJSON(site)}, nil
}

func carrierDetailJSON(c service.CarrierWithPolicy) CarrierDetail {
	return CarrierDetail{Carrier: carrierJSON(c.Carrier), Fallback: string(c.Policy.Fallback), FallbackMaxDistanceM: c.Policy.MaxDistanceM}
}

func (s *Server) handleListCarriers(ctx context.Context, p parcelguard.Principal, in *listCursorInput) (*reply[List[CarrierDetail]], error) {
	cs, err := s.svc.Carriers(ctx, p, parcelguard.CarrierFilter{After: in.Cursor, Limit: in.Limit})
	if err != nil {
		return nil, err
	}
	out := List[CarrierDetail]{Items: make([]CarrierDetail, 0, len(cs))}
	for _, c := range cs {
		out.Items = append(out.Items, carrierDetailJSON(c))
	}
	if len(cs) == in.Limit {
		out.NextCursor = cs[len(cs)-1].Carrier.ID
	}
	return &reply[List[CarrierDetail]]{Body: out}, nil
}

func (s *Server) handleUpdateCarrier(ctx context.Context, p parcelguard.Principal, in *patchCarrierInput) (*tagged[CarrierDetail], error) {
	b := in.Body
	up := service.CarrierUpdate{Name: b.Name, PhoneFactor: b.PhoneFactor, FallbackMaxDistanceM: b.FallbackMaxDistanceM,
		If: precondition(in.IfMatch)}
	if b.StoragePeriodSeconds != nil {
		d := time.Duration(*b.StoragePeriodSeconds) * time.Second
		up.StoragePeriod = &d
	}
	if b.Fallback != nil {
		f := parcelguard.FallbackMode(*b.Fallback)
		up.Fallback = &f
	}
	c, err := s.svc.UpdateCarrier(ctx, p, in.ID, up)
	if err != nil {
		return nil, err
	}
	return &tagged[CarrierDetail]{ETag: etag(c.Carrier.Version), Body: carrierDetailJSON(*c)}, nil
}

func apiKeyJSON(k *parcelguard.APIKey) APIKey {
	return APIKey{Prefix: k.Prefix, Role: string(k.Role), CarrierID: k.CarrierID, SiteID: k.SiteID, Name: k.Name,
		CreatedAt: utc(k.CreatedAt), RevokedAt: utc(k.RevokedAt)}
}

func (s *Server) handleListAPIKeys(ctx context.Context, p parcelguard.Principal, in *listAPIKeysInput) (*reply[List[APIKey]], error) {
	ks, err := s.svc.APIKeys(ctx, p, parcelguard.APIKeyFilter{CarrierID: in.CarrierID, Role: parcelguard.Role(in.Role),
		After: in.Cursor, Limit: in.Limit})
	if err != nil {
		return nil, err
	}
	out := List[APIKey]{Items: make([]APIKey, 0, len(ks))}
	for _, k := range ks {
		out.Items = append(out.Items, apiKeyJSON(k))
	}
	if len(ks) == in.Limit {
		out.NextCursor = ks[len(ks)-1].Prefix
	}
	return &reply[List[APIKey]]{Body: out}, nil
}

func (s *Server) handleRevokeAPIKey(ctx context.Context, p parcelguard.Principal, in *prefixParam) (*reply[APIKey], error) {
	k, err := s.svc.RevokeAPIKey(ctx, p, in.Prefix)
	if err != nil {
		return nil, err
	}
	return &reply[APIKey]{Body: apiKeyJSON(k)}, nil
}
