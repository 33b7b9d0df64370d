// Package http serves parcelguard's public JSON API under /v1, its OpenAPI
// document, health checks and Prometheus metrics over net/http.
//
// Operations are declared with huma, so the OpenAPI 3.1 document at
// /openapi.json is generated from the same Go types that decode requests and
// encode responses and cannot drift from them. Handlers are thin: huma
// decodes and checks the request against its schema, the handler maps it to
// a domain value, calls one service use case and encodes the result. Every
// error leaves as application/problem+json (RFC 9457), see errors.go.
package http

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/metrics"
	"github.com/parcelguard/parcelguard/service"
)

// DefaultMaxBodyBytes caps request bodies when Config.MaxBodyBytes is zero.
// The largest legitimate body (a parcel announcement) is well under 2 KiB.
const DefaultMaxBodyBytes = 64 << 10

// Config is what a Server needs. Service and Store are required.
type Config struct {
	Service *service.Service
	// Store answers the readiness probe (Ping); the use cases reach it only
	// through Service.
	Store parcelguard.Store
	// Metrics receives the request counters and latencies; nil discards them.
	Metrics *metrics.Metrics
	// Gatherer is exposed at /metrics; nil means prometheus.DefaultGatherer.
	Gatherer prometheus.Gatherer
	// Logger receives the access log and internal errors; nil discards them.
	Logger *slog.Logger
	// Version is the API version shown in the OpenAPI document and /healthz.
	Version string
	// MaxBodyBytes caps request bodies; larger ones get 413. Zero means
	// DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// KeyLimit is the token bucket of each API key (and recipient link);
	// zero means DefaultKeyLimit, a Rate of rate.Inf no limit.
	KeyLimit RateLimit
	// AddressLimit is the token bucket of each client address, applied to
	// every /v1 request before authentication; zero means
	// DefaultAddressLimit, a Rate of rate.Inf no limit.
	AddressLimit RateLimit
	// TrustedProxies are the reverse proxies in front of the server: from
	// them, the client is read off X-Forwarded-For (see
	// TrustedProxies.ClientAddress). Empty trusts no one.
	TrustedProxies TrustedProxies
	// ClientAddress names the client of a request for AddressLimit and the
	// access log; nil means TrustedProxies.ClientAddress.
	ClientAddress func(*http.Request) string
	// Clock times the rate limits; nil means the wall clock.
	Clock parcelguard.Clock
	// Mailbox, when set, is listed at GET /v1/mailbox for operators.
	Mailbox Mailbox
}

// Server is parcelguard's HTTP API. It implements net/http.Handler.
type Server struct {
	svc      *service.Service
	mailbox  Mailbox
	store    parcelguard.Store
	metrics  *metrics.Metrics
	gatherer prometheus.Gatherer
	log      *slog.Logger
	version  string
	maxBody  int64

	keyLimit     *limiter
	addressLimit *limiter
	clientAddr   func(*http.Request) string
	clock        parcelguard.Clock

	mux *routeMux
	api huma.API
}

// NewServer builds the API and registers every route. It panics when a
// required dependency is missing, since that is a wiring bug, not a runtime
// condition.
func NewServer(cfg Config) *Server {
	if cfg.Service == nil || cfg.Store == nil {
		panic("http: Config.Service and Config.Store are required")
	}
	s := &Server{
		svc:      cfg.Service,
		mailbox:  cfg.Mailbox,
		store:    cfg.Store,
		metrics:  cfg.Metrics,
		gatherer: cfg.Gatherer,
		log:      cfg.Logger,
		version:  cfg.Version,
		maxBody:  cfg.MaxBodyBytes,
		mux:      newRouteMux(),

		keyLimit:     newLimiter(cfg.KeyLimit, DefaultKeyLimit),
		addressLimit: newLimiter(cfg.AddressLimit, DefaultAddressLimit),
		clientAddr:   cfg.ClientAddress,
		clock:        cfg.Clock,
	}
	if s.clientAddr == nil {
		s.clientAddr = cfg.TrustedProxies.ClientAddress
	}
	if s.clock == nil {
		s.clock = parcelguard.SystemClock{}
	}
	if s.metrics == nil {
		s.metrics = metrics.Discard()
	}
	if s.gatherer == nil {
		s.gatherer = prometheus.DefaultGatherer
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	if s.version == "" {
		s.version = "dev"
	}

	s.api = humago.New(s.mux, s.humaConfig())
	// Authenticate, then spend the caller's rate budget, then replay or
	// claim an Idempotency-Key: a throttled request claims no key.
	s.api.UseMiddleware(s.authenticate, s.limitCaller, s.idempotent)

	s.registerHealthRoutes()
	s.registerDocsRoutes()
	s.registerSiteRoutes()
	s.registerCompartmentRoutes()
	s.registerCarrierRoutes()
	s.registerAdminRoutes()
	s.registerParcelRoutes()
	s.registerCourierRoutes()
	s.registerMailboxRoutes()
	s.registerKioskRoutes()
	s.registerTrackRoutes()
	s.registerDoorstepRoutes()
	s.registerNetworkRoutes()
	s.registerRedirectRoutes()
	s.registerDeviceRoutes()
	return s
}

// ServeHTTP serves one request: observed (metrics, access log, panic
// recovery), then routed.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.observe(w, r, s.route)
}

// route dispatches r to its handler. The standard ServeMux answers unknown
// paths and wrong methods in text/plain; we ask it first whether anything
// matches, so those answers can be problem+json like every other error.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	// No answer of this API is meant to be sniffed into something else.
	w.Header().Set("X-Content-Type-Options", "nosniff")
	h, pattern := s.mux.Handler(r)
	if info := requestInfoFrom(r.Context()); info != nil && pattern != "" && s.mux.registered(pattern) {
		info.route = pattern
	}
	// Every API request spends its client address's budget, found or not,
	// authenticated or not; probes, metrics and docs do not.
	if strings.HasPrefix(r.URL.Path, "/v1/") {
		client := s.clientAddr(r)
		if info := requestInfoFrom(r.Context()); info != nil {
			client = info.client
		}
		if wait := s.addressLimit.take(client, s.clock.Now()); wait > 0 {
			writeProblem(w, rateLimited(wait))
			return
		}
	}
	if pattern == "" {
		s.writeUnmatched(w, r, h)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// humaConfig describes the API. It starts from huma's defaults but drops the
// $schema links huma adds to every response body, the /schemas route and
// huma's docs page (which loads its renderer from a CDN; ours in docs.go is
// self-contained).
func (s *Server) humaConfig() huma.Config {
	cfg := huma.DefaultConfig("parcelguard API", s.version)
	cfg.CreateHooks = nil
	cfg.SchemasPath = ""
	cfg.DocsPath = ""
	// A misspelt filter (?status= for ?state=) must fail loudly instead of
	// silently listing everything.
	cfg.RejectUnknownQueryParameters = true
	cfg.Info.Description = "The public API of parcelguard, a parcel-locker platform. " +
		"Authenticate with `Authorization: Bearer <api key>`. Errors are RFC 9457 " +
		"problem details (application/problem+json). Durations are integer seconds, " +
		"times RFC 3339 in UTC. Every POST accepts an `Idempotency-Key` header (1 to 255 " +
		"printable ASCII characters, remembered for 24 h per API key): a retry with the same key and " +
		"body gets the stored answer again (marked `Idempotent-Replayed: true`), the same key with " +
		"another body a 422, and a retry while the first request still runs a 409. " +
		"Requests are rate limited per API key and per client address; a 429 says when to come " +
		"back in Retry-After. Recipients authenticate with the magic-link token of their " +
		"tracking link instead of an API key."
	cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		bearerScheme: {
			Type:        "http",
			Scheme:      "bearer",
			Description: "An API key such as pgk_xxxxxxxxxxxx_... created with POST /v1/api-keys.",
		},
		recipientScheme: {
			Type:        "http",
			Scheme:      "bearer",
			Description: "A recipient magic-link token (pgr_...), bound to one parcel and expiring. The tracking page receives it in its URL fragment and sends it only in this header.",
		},
	}
	return cfg
}

// handle registers an operation that needs an authenticated caller. The
// handler receives the caller's principal and returns domain errors, which
// handle turns into problems; so handlers never deal with statuses, and an
// operation cannot accidentally run without a principal.
func handle[I, O any](s *Server, op huma.Operation, h func(context.Context, parcelguard.Principal, *I) (*O, error)) {
	op.Security = []map[string][]string{{bearerScheme: {}}}
	s.secured(&op)
	huma.Register(s.api, op, func(ctx context.Context, in *I) (*O, error) {
		p, ok := principalFrom(ctx)
		if !ok {
			// authenticate ran for every secured operation, so this is a bug;
			// fail closed rather than run as the zero (system) principal.
			return nil, s.problem(ctx, parcelguard.ErrUnauthorized)
		}
		out, err := h(ctx, p, in)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return out, nil
	})
}

// handleRecipient registers an operation a recipient calls with the
// magic-link token of their parcel; the handler receives the verified
// access, never the token.
func handleRecipient[I, O any](s *Server, op huma.Operation, h func(context.Context, *service.RecipientAccess, *I) (*O, error)) {
	op.Security = []map[string][]string{{recipientScheme: {}}}
	s.secured(&op)
	huma.Register(s.api, op, func(ctx context.Context, in *I) (*O, error) {
		a, ok := recipientFrom(ctx)
		if !ok {
			return nil, s.problem(ctx, parcelguard.ErrUnauthorized)
		}
		out, err := h(ctx, a, in)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return out, nil
	})
}

// secured completes an authenticated operation's description: the
// statuses every such operation may answer, the body cap, and for POSTs
// the Idempotency-Key header (read by the idempotent middleware, not by
// huma, so it is documented here by hand).
func (s *Server) secured(op *huma.Operation) {
	op.Errors = append([]int{http.StatusUnauthorized, http.StatusTooManyRequests}, op.Errors...)
	op.MaxBodyBytes = s.maxBody
	if op.Method == http.MethodPost {
		op.Errors = append(op.Errors, http.StatusConflict, http.StatusUnprocessableEntity)
		minLen, maxLen := 1, service.MaxIdempotencyKeyLength
		op.Parameters = append(op.Parameters, &huma.Param{
			Name: idempotencyHeader,
			In:   "header",
			Description: "Makes the request safe to retry: within 24 h, a request with the same key and body " +
				"gets the stored answer instead of running again.",
			Schema: &huma.Schema{Type: "string", MinLength: &minLen, MaxLength: &maxLen},
		})
	}
	slices.Sort(op.Errors)
	op.Errors = slices.Compact(op.Errors)
}

// handlePublic registers an operation anyone may call.
func handlePublic[I, O any](s *Server, op huma.Operation, h func(context.Context, *I) (*O, error)) {
	op.MaxBodyBytes = s.maxBody
	huma.Register(s.api, op, func(ctx context.Context, in *I) (*O, error) {
		out, err := h(ctx, in)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return out, nil
	})
}

// routeMux is a ServeMux that remembers the patterns registered on it, so
// only those become metric labels: the mux also reports cleaned-up raw paths
// as patterns when it redirects, and those must not reach Prometheus.
type routeMux struct {
	*http.ServeMux
	patterns map[string]bool
}

func newRouteMux() *routeMux {
	return &routeMux{ServeMux: http.NewServeMux(), patterns: map[string]bool{}}
}

// HandleFunc registers handler for pattern and remembers the pattern. Huma
// registers through it, and so do the plain routes.
func (m *routeMux) HandleFunc(pattern string, handler func(http.ResponseWriter, *http.Request)) {
	m.patterns[pattern] = true
	m.ServeMux.HandleFunc(pattern, handler)
}

// Handle registers h for pattern and remembers the pattern.
func (m *routeMux) Handle(pattern string, h http.Handler) {
	m.patterns[pattern] = true
	m.ServeMux.Handle(pattern, h)
}

func (m *routeMux) registered(pattern string) bool { return m.patterns[pattern] }
