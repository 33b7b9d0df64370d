package kiosk

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/parcelguard/parcelguard"
)

//go:embed assets
var assets embed.FS

// Config is what a Handler needs; Locker is required.
type Config struct {
	Locker Locker
	// SiteName is shown in the page header.
	SiteName string
	// Clock dates the form tokens; nil means the system clock.
	Clock parcelguard.Clock
	// Logger records failures the screen shows as "something went wrong";
	// never a code.
	Logger *slog.Logger
	// Timeout bounds one pickup call; default 15 s.
	Timeout time.Duration
}

// FormTTL is how long a rendered form may be submitted.
const FormTTL = 15 * time.Minute

// Handler serves the kiosk pages.
type Handler struct {
	cfg  Config
	key  []byte // signs form tokens; a fresh one per process
	tmpl *template.Template
	mux  http.Handler
}

// New returns the kiosk's handler.
func New(cfg Config) (*Handler, error) {
	if cfg.Locker == nil {
		return nil, errors.New("kiosk: no Locker")
	}
	if cfg.Clock == nil {
		cfg.Clock = parcelguard.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 15 * time.Second
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	tmpl, err := template.New("").Funcs(template.FuncMap{"t": text}).ParseFS(assets, "assets/*.html")
	if err != nil {
		return nil, err
	}
	h := &Handler{cfg: cfg, key: key, tmpl: tmpl}
	static, _ := fs.Sub(assets, "assets")
	mux := http.NewServeMux()
	mux.Handle("GET /static/kiosk.css", noStore(http.StripPrefix("/static/", http.FileServerFS(static))))
	mux.HandleFunc("GET /{$}", h.root)
	mux.HandleFunc("GET /{lang}/{$}", h.start)
	mux.HandleFunc("POST /{lang}/pin", h.pin)
	mux.HandleFunc("POST /{lang}/qr", h.qr)
	if _, ok := cfg.Locker.(Depositor); ok {
		mux.HandleFunc("POST /{lang}/deposit", h.deposit)
	}
	h.mux = http.NewCrossOriginProtection().Handler(mux)
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	// No page is cached: a result names a compartment, and the back button
	// must not show it to the next person.
	hd.Set("Cache-Control", "no-store")
	hd.Set("Pragma", "no-cache")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.mux.ServeHTTP(w, r)
}

func noStore(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// page is what the template sees.
type page struct {
	Lang, SiteName, Token string
	Languages             []langLink
	// Status is the outcome shown in the live region; Alert marks a
	// failure (role=alert), OK a success.
	Status, Detail string
	OK, Alert      bool
	Result         bool
	// Deposits shows the courier's deposit form.
	Deposits bool
}

type langLink struct {
	Code, Name string
	Current    bool
}

func (h *Handler) root(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/"+DefaultLanguage+"/", http.StatusSeeOther)
}

// language returns the request's language, or false for an unknown one.
func language(r *http.Request) (string, bool) {
	lang := r.PathValue("lang")
	_, ok := texts[lang]
	return lang, ok
}

func (h *Handler) start(w http.ResponseWriter, r *http.Request) {
	lang, ok := language(r)
	if !ok {
		http.NotFound(w, r)
		return
	}
	h.render(w, http.StatusOK, h.newPage(lang))
}

func (h *Handler) newPage(lang string) *page {
	_, deposits := h.cfg.Locker.(Depositor)
	p := &page{Lang: lang, SiteName: h.cfg.SiteName, Token: h.token(), Deposits: deposits}
	for _, l := range Languages {
		p.Languages = append(p.Languages, langLink{Code: l, Name: languageNames[l], Current: l == lang})
	}
	return p
}

func (h *Handler) render(w http.ResponseWriter, status int, p *page) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := h.tmpl.ExecuteTemplate(w, "page.html", p); err != nil {
		h.cfg.Logger.Error("kiosk: render", "err", err)
	}
}

var (
	pinPattern   = regexp.MustCompile(`^[0-9]{6}$`)
	phonePattern = regexp.MustCompile(`^[0-9]{4}$`)
)

// maxForm bounds a posted form: a QR token is well under 1 KiB.
const maxForm = 8 << 10

// form reads the POST body only (never the URL's query, so a code put in a
// URL is ignored) and checks the form token. It returns false after
// answering the request itself.
func (h *Handler) form(w http.ResponseWriter, r *http.Request) (string, bool) {
	lang, ok := language(r)
	if !ok {
		http.NotFound(w, r)
		return "", false
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		h.fail(w, lang, http.StatusBadRequest, "failed")
		return "", false
	}
	if !h.validToken(r.PostForm.Get("token")) {
		h.fail(w, lang, http.StatusForbidden, "stale")
		return "", false
	}
	return lang, true
}

func (h *Handler) pin(w http.ResponseWriter, r *http.Request) {
	lang, ok := h.form(w, r)
	if !ok {
		return
	}
	pin := strings.TrimSpace(r.PostForm.Get("pin"))
	phone := strings.TrimSpace(r.PostForm.Get("phone"))
	if !pinPattern.MatchString(pin) {
		h.fail(w, lang, http.StatusUnprocessableEntity, "need_pin")
		return
	}
	if phone != "" && !phonePattern.MatchString(phone) {
		h.fail(w, lang, http.StatusUnprocessableEntity, "need_phone")
		return
	}
	h.pickup(w, r, lang, func(ctx context.Context) (Result, error) { return h.cfg.Locker.PickupPIN(ctx, pin, phone) })
}

func (h *Handler) qr(w http.ResponseWriter, r *http.Request) {
	lang, ok := h.form(w, r)
	if !ok {
		return
	}
	token := strings.TrimSpace(r.PostForm.Get("qr"))
	if token == "" || len(token) > 1024 {
		h.fail(w, lang, http.StatusUnprocessableEntity, "need_qr")
		return
	}
	h.pickup(w, r, lang, func(ctx context.Context) (Result, error) { return h.cfg.Locker.PickupQR(ctx, token) })
}

// deposit opens the compartment reserved for a courier's parcel.
func (h *Handler) deposit(w http.ResponseWriter, r *http.Request) {
	lang, ok := h.form(w, r)
	if !ok {
		return
	}
	code := strings.TrimSpace(r.PostForm.Get("deposit_code"))
	if !pinPattern.MatchString(code) {
		h.fail(w, lang, http.StatusUnprocessableEntity, "need_deposit_code")
		return
	}
	d := h.cfg.Locker.(Depositor)
	h.open(w, r, lang, "deposited_hint", func(ctx context.Context) (Result, error) { return d.Deposit(ctx, code) })
}

// pickup calls the locker and shows what happened.
func (h *Handler) pickup(w http.ResponseWriter, r *http.Request, lang string, call func(context.Context) (Result, error)) {
	h.open(w, r, lang, "opened_hint", call)
}

// open calls the locker to open a door and shows what happened; hint is
// the text telling what to do at the open door.
func (h *Handler) open(w http.ResponseWriter, r *http.Request, lang, hint string, call func(context.Context) (Result, error)) {
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.Timeout)
	defer cancel()
	res, err := call(ctx)
	p := h.newPage(lang)
	p.Result = true
	var locked *LockedOutError
	switch {
	case err == nil:
		p.OK = true
		p.Status = strings.ReplaceAll(text(lang, "opened"), "{label}", res.CompartmentLabel)
		p.Detail = text(lang, hint)
		h.render(w, http.StatusOK, p)
		return
	case errors.As(err, &locked):
		w.Header().Set("Retry-After", retryAfterSeconds(locked.RetryAfter))
		p.Status = replace(text(lang, "locked"), "{wait}", waitText(lang, locked.RetryAfter))
		p.Alert = true
		h.render(w, http.StatusTooManyRequests, p)
		return
	case errors.Is(err, ErrWrongCode):
		h.fail(w, lang, http.StatusUnprocessableEntity, "wrong")
	case errors.Is(err, ErrExpired):
		h.fail(w, lang, http.StatusGone, "expired")
	case errors.Is(err, ErrOffline), errors.Is(err, context.DeadlineExceeded):
		h.fail(w, lang, http.StatusServiceUnavailable, "offline")
	default:
		h.cfg.Logger.Error("kiosk: pickup failed", "err", err)
		h.fail(w, lang, http.StatusInternalServerError, "failed")
	}
}

// fail shows the start page again with a message in the live region.
func (h *Handler) fail(w http.ResponseWriter, lang string, status int, key string) {
	p := h.newPage(lang)
	p.Status, p.Alert = text(lang, key), true
	h.render(w, status, p)
}

func retryAfterSeconds(d time.Duration) string {
	return itoa(max(1, int64((d+time.Second-1)/time.Second)))
}

// token returns a form token: the issue time and an HMAC over it.
func (h *Handler) token() string {
	var b [8 + 16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(h.cfg.Clock.Now().Unix()))
	copy(b[8:], h.mac(b[:8]))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (h *Handler) mac(msg []byte) []byte {
	m := hmac.New(sha256.New, h.key)
	m.Write([]byte("kiosk-form|"))
	m.Write(msg)
	return m.Sum(nil)[:16]
}

// validToken checks a form token's MAC and age.
func (h *Handler) validToken(tok string) bool {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) != 24 || !hmac.Equal(b[8:], h.mac(b[:8])) {
		return false
	}
	issued := time.Unix(int64(binary.BigEndian.Uint64(b[:8])), 0)
	age := h.cfg.Clock.Now().Sub(issued)
	return age >= -time.Minute && age <= FormTTL
}
