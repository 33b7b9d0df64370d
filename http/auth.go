package http

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/service"
)

// bearerScheme names the API-key security scheme in the OpenAPI document;
// recipientScheme the recipient magic-link one.
const (
	bearerScheme    = "bearer"
	recipientScheme = "recipientLink"
)

// maxTokenLength bounds the Authorization value we look at; real keys are
// 69 characters, recipient links at most 278.
const maxTokenLength = 320

type principalKey struct{}

type recipientKey struct{}

// recipientFrom returns the recipient access authenticate put in ctx.
func recipientFrom(ctx context.Context) (*service.RecipientAccess, bool) {
	a, ok := ctx.Value(recipientKey{}).(*service.RecipientAccess)
	return a, ok && a != nil
}

// principalFrom returns the caller authenticate put in ctx. The second
// result is false when there is none, which handlers must treat as
// unauthenticated: the zero Principal is parcelguard.System.
func principalFrom(ctx context.Context) (parcelguard.Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(parcelguard.Principal)
	return p, ok && p.Role != ""
}

// authenticate is huma middleware: for operations that declare the bearer
// scheme it resolves "Authorization: Bearer <api key>" to a principal and
// rejects the request with 401 otherwise. Only the key's public prefix is
// ever logged; the header itself never is.
func (s *Server) authenticate(ctx huma.Context, next func(huma.Context)) {
	if len(ctx.Operation().Security) == 0 {
		next(ctx)
		return
	}
	token, ok := bearerToken(ctx.Header("Authorization"))
	if _, recipient := ctx.Operation().Security[0][recipientScheme]; recipient {
		s.authenticateRecipient(ctx, token, ok, next)
		return
	}
	err := error(parcelguard.ErrUnauthorized)
	var p parcelguard.Principal
	if ok {
		p, err = s.svc.Authenticate(ctx.Context(), token)
	}
	if err != nil {
		writeHumaProblem(ctx, s.problem(ctx.Context(), err))
		return
	}
	if info := requestInfoFrom(ctx.Context()); info != nil {
		info.keyPrefix = p.KeyPrefix
	}
	ctx = huma.WithValue(ctx, scopeKey{}, "key:"+p.KeyPrefix)
	next(huma.WithValue(ctx, principalKey{}, p))
}

// authenticateRecipient resolves a recipient magic-link token. The token
// is a credential: like an API key it is never logged, and nothing of it
// (not even a prefix) reaches the access log.
func (s *Server) authenticateRecipient(ctx huma.Context, token string, present bool, next func(huma.Context)) {
	err := error(parcelguard.ErrUnauthorized)
	var a *service.RecipientAccess
	if present {
		a, err = s.svc.AuthenticateRecipient(ctx.Context(), token)
	}
	if err != nil {
		writeHumaProblem(ctx, s.problem(ctx.Context(), err))
		return
	}
	ctx = huma.WithValue(ctx, scopeKey{}, "rcp:"+a.ParcelID())
	next(huma.WithValue(ctx, recipientKey{}, a))
}

// bearerToken extracts the token of a Bearer Authorization header. The
// scheme is case-insensitive (RFC 9110 11.1).
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" || len(token) > maxTokenLength {
		return "", false
	}
	return token, true
}

// writeHumaProblem writes p from huma middleware, before any handler ran.
func writeHumaProblem(ctx huma.Context, p *Problem) {
	for name, values := range p.headers {
		for _, v := range values {
			ctx.AppendHeader(name, v)
		}
	}
	ctx.SetHeader("Content-Type", problemContentType)
	ctx.SetStatus(p.Status)
	_ = json.NewEncoder(ctx.BodyWriter()).Encode(p) // the client went away; nothing to do
}
