package http

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/service"
)

// tokenWarning goes with every newly created key, because the token cannot
// be shown again: only its hash is stored.
const tokenWarning = "Store this token now in a secret store. It is shown only once and cannot be recovered; create a new key if it is lost."

// NewAPIKey is the body of POST /v1/api-keys.
type NewAPIKey struct {
	Role      string `json:"role" enum:"admin,operator,carrier,courier,kiosk"`
	CarrierID string `json:"carrier_id,omitempty" maxLength:"64" doc:"Required for carrier and courier keys, which see only this carrier's parcels."`
	SiteID    string `json:"site_id,omitempty" maxLength:"64" doc:"Required for kiosk keys, which serve only this site."`
	Name      string `json:"name,omitempty" maxLength:"100" doc:"What the key is for, such as 'Warehouse scanner 3'."`
}

// APIKeyCreated is a new key with its one-time token.
type APIKeyCreated struct {
	Token     string    `json:"token" doc:"The API key. Send it as Authorization: Bearer <token>. Shown only in this response."`
	Warning   string    `json:"warning"`
	Prefix    string    `json:"prefix" doc:"The key's public identifier; it appears in logs and audit events."`
	Role      string    `json:"role"`
	CarrierID string    `json:"carrier_id,omitempty"`
	SiteID    string    `json:"site_id,omitempty"`
	Name      string    `json:"name,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

type apiKeyOutput struct {
	// The token must not linger in caches on the way back.
	CacheControl string `header:"Cache-Control"`
	Body         APIKeyCreated
}

func (s *Server) registerAdminRoutes() {
	handle(s, huma.Operation{
		OperationID:   "createAPIKey",
		Method:        http.MethodPost,
		Path:          "/v1/api-keys",
		Summary:       "Create an API key",
		Description:   "Creates a key and returns its token once. Admins only. A retry with the same Idempotency-Key after success gets 409 not_replayable, never the token again.",
		Tags:          []string{"Admin"},
		DefaultStatus: http.StatusCreated,
		Errors:        []int{http.StatusForbidden},
		// The answer holds the key's token: never stored for replay.
		Metadata: map[string]any{metaOneTimeSecret: true},
	}, s.handleCreateAPIKey)
}

func (s *Server) handleCreateAPIKey(ctx context.Context, p parcelguard.Principal, in *bodyInput[NewAPIKey]) (*apiKeyOutput, error) {
	token, key, err := s.svc.CreateAPIKey(ctx, p, service.NewAPIKeyInput{
		Role:      parcelguard.Role(in.Body.Role),
		CarrierID: in.Body.CarrierID,
		SiteID:    in.Body.SiteID,
		Name:      in.Body.Name,
	})
	if err != nil {
		return nil, err
	}
	return &apiKeyOutput{
		CacheControl: "no-store",
		Body: APIKeyCreated{
			Token:     token,
			Warning:   tokenWarning,
			Prefix:    key.Prefix,
			Role:      string(key.Role),
			CarrierID: key.CarrierID,
			SiteID:    key.SiteID,
			Name:      key.Name,
			CreatedAt: utc(key.CreatedAt),
		},
	}, nil
}
