// Package web serves parcelguard's pages: the recipient's tracking page, the
// courier app and the operator console. Pages are rendered on the server
// from html/template with embedded CSS and a little JavaScript where it
// earns its place (reading the magic link's fragment, the deadline
// countdown). Every page is offered in en, de, it and pl, works without a
// pointer device and carries a strict Content-Security-Policy.
//
// Handlers follow one order: authenticate (cookie), check the CSRF token of
// a form, call one service use case, render or redirect (POST, redirect,
// GET). Codes appear only in the body of the recipient's authenticated page,
// never in a URL, a log line or a cache.
package web

import (
	"context"
	"embed"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/code"
	"github.com/parcelguard/parcelguard/notify"
	"github.com/parcelguard/parcelguard/service"
)

// Mailbox lists what the local mailbox captured (the demo's messages).
type Mailbox interface {
	List(ctx context.Context, f parcelguard.MailboxFilter) ([]*notify.MailboxMessage, error)
}

// Config is what the pages need. Service and Keys are required.
type Config struct {
	Service *service.Service
	// Keys keys the CSRF tokens (HMAC under the server keyring).
	Keys *code.Keyring
	// Clock reads the time for countdowns and throttles; nil is the wall clock.
	Clock parcelguard.Clock
	// Logger receives internal errors; nil discards them.
	Logger *slog.Logger
	// Mailbox, when set, is shown in the console (demo and development).
	Mailbox Mailbox
	// ClientAddress names the client of a request for the sign-in limit
	// per address and the logs: behind a reverse proxy, the API's
	// http.TrustedProxies.ClientAddress, so both agree on who a client
	// is. Nil uses the connection's peer (an IPv6 address by its /64).
	ClientAddress func(*http.Request) string
}

// Handler serves the pages. Register mounts it on a mux.
type Handler struct {
	svc     *service.Service
	keys    *code.Keyring
	clock   parcelguard.Clock
	log     *slog.Logger
	mailbox Mailbox
	msgs    catalog
	pages   *pages
	csrf    *http.CrossOriginProtection
	signins *addressLimiter
	client  func(*http.Request) string
}

//go:embed assets
var assetFS embed.FS

// New builds the pages. It fails only on a defect in the embedded
// templates or messages.
func New(cfg Config) (*Handler, error) {
	msgs, err := loadCatalog()
	if err != nil {
		return nil, err
	}
	pg, err := parsePages()
	if err != nil {
		return nil, err
	}
	h := &Handler{svc: cfg.Service, keys: cfg.Keys, clock: cfg.Clock, log: cfg.Logger, mailbox: cfg.Mailbox,
		msgs: msgs, pages: pg, csrf: http.NewCrossOriginProtection(), client: cfg.ClientAddress}
	if h.client == nil {
		h.client = peerAddress
	}
	if h.clock == nil {
		h.clock = parcelguard.SystemClock{}
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	h.signins = newAddressLimiter(signinRate, signinBurst)
	return h, nil
}

// Register mounts the pages on mux beside whatever else it serves (the
// API under /v1): the recipient's pages at / and /track, the courier app
// under /courier/ and the console under /console/.
func (h *Handler) Register(mux *http.ServeMux) {
	assets, _ := fs.Sub(assetFS, "assets") // the directory is embedded
	mux.Handle("GET /assets/", h.secure(http.StripPrefix("/assets/", cacheAssets(http.FileServerFS(assets)))))
	h.registerRecipient(mux)
	h.registerConsole(mux)
	h.registerCourier(mux)
}

// contentSecurityPolicy allows nothing but the page's own scripts, styles
// and images: no inline script, no framing, forms only to this origin.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// secure adds the headers every page carries and refuses cross-origin
// state changes (Sec-Fetch-Site/Origin) before any handler runs; the CSRF
// token of each form is checked on top of that by the handler.
func (h *Handler) secure(next http.Handler) http.Handler {
	return h.csrf.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", contentSecurityPolicy)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		next.ServeHTTP(w, r)
	}))
}

// cacheAssets lets browsers keep the embedded assets for an hour.
func cacheAssets(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		next.ServeHTTP(w, r)
	})
}

// noStore marks an answer that must not be cached anywhere: every page
// behind a sign-in, and above all the one showing a pickup code.
func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
}

// now is the handler's current time.
func (h *Handler) now() time.Time { return h.clock.Now() }
