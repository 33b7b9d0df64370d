package http

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/parcelguard/parcelguard"
)

// readyTimeout bounds the readiness probe's store ping, so a hung store makes
// the probe fail rather than hang with it.
const readyTimeout = 2 * time.Second

// Health is the body of /healthz and /readyz.
type Health struct {
	Status  string `json:"status" example:"ok"`
	Version string `json:"version"`
}

type healthOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         Health
}

func (s *Server) registerHealthRoutes() {
	handlePublic(s, huma.Operation{
		OperationID: "healthz",
		Method:      http.MethodGet,
		Path:        "/healthz",
		Summary:     "Liveness",
		Description: "Answers 200 as long as the process serves requests.",
		Tags:        []string{"Operations"},
	}, s.handleHealthz)

	handlePublic(s, huma.Operation{
		OperationID: "readyz",
		Method:      http.MethodGet,
		Path:        "/readyz",
		Summary:     "Readiness",
		Description: "Answers 200 when the store answers a ping within 2 s, else 503.",
		Tags:        []string{"Operations"},
		Errors:      []int{http.StatusServiceUnavailable},
	}, s.handleReadyz)

	// Prometheus' text format is not JSON, so /metrics is a plain route and
	// stays out of the OpenAPI document.
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.gatherer, promhttp.HandlerOpts{}))
}

func (s *Server) handleHealthz(context.Context, *struct{}) (*healthOutput, error) {
	return &healthOutput{CacheControl: "no-store", Body: Health{Status: "ok", Version: s.version}}, nil
}

func (s *Server) handleReadyz(ctx context.Context, _ *struct{}) (*healthOutput, error) {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		return nil, fmt.Errorf("readiness: ping store: %v: %w", err, parcelguard.ErrUnavailable)
	}
	return &healthOutput{CacheControl: "no-store", Body: Health{Status: "ready", Version: s.version}}, nil
}
