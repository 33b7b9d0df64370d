package web

import (
	"errors"
	"net"
	"net/http"
	"strconv"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/service"
)

// sessionCookie holds a signed-in operator's or courier's session token
// (HttpOnly, Secure, SameSite=Strict). The store keeps only its hash.
const sessionCookie = "pg_session"

// signedIn is the account behind a request's session, as pages show it.
type signedIn struct {
	Username string
	*service.SignedIn
}

// appRoles says who may sign in to which app.
var appRoles = map[string][]parcelguard.Role{
	"console": {parcelguard.RoleOperator, parcelguard.RoleAdmin},
	"courier": {parcelguard.RoleCourier},
}

// session returns the request's signed-in account if it may use app.
func (h *Handler) session(r *http.Request, app string) *service.SignedIn {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil
	}
	s, err := h.svc.Session(r.Context(), c.Value)
	if err != nil {
		if !errors.Is(err, parcelguard.ErrUnauthorized) {
			h.log.Error("web session", "err", err)
		}
		return nil
	}
	for _, role := range appRoles[app] {
		if s.Account.Role == role {
			return s
		}
	}
	return nil
}

// authed wraps a page of app that needs a signed-in account: others are
// sent to the app's sign-in page. Every such page is uncacheable.
func (h *Handler) authed(app string, next func(http.ResponseWriter, *http.Request, *service.SignedIn)) http.Handler {
	return h.secure(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		noStore(w)
		s := h.session(r, app)
		if s == nil {
			seeOther(w, r, "/"+app+"/signin")
			return
		}
		next(w, r, s)
	}))
}

// userView starts a signed-in page's view.
func (h *Handler) userView(w http.ResponseWriter, r *http.Request, s *service.SignedIn, app, title string) *view {
	v := h.newView(w, r, app, title)
	v.User = &signedIn{Username: s.Account.Username, SignedIn: s}
	return v
}

// registerSignIn adds the sign-in and sign-out routes of app.
func (h *Handler) registerSignIn(mux *http.ServeMux, app string) {
	mux.Handle("GET /"+app+"/signin", h.secure(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		noStore(w)
		if h.session(r, app) != nil {
			seeOther(w, r, "/"+app+"/")
			return
		}
		h.render(w, r, http.StatusOK, "signin", h.newView(w, r, app, app+".signin"))
	})))
	mux.Handle("POST /"+app+"/signin", h.secure(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.signIn(w, r, app)
	})))
	mux.Handle("POST /"+app+"/signout", h.secure(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.signOut(w, r, app)
	})))
}

func (h *Handler) signIn(w http.ResponseWriter, r *http.Request, app string) {
	noStore(w)
	if !h.checkCSRF(w, r) {
		h.forbidden(w, r, app)
		return
	}
	v := h.newView(w, r, app, app+".signin")
	client := h.client(r)
	if !h.signins.allow(client, h.now()) {
		h.log.Warn("web sign-in throttled", "app", app, "client", client, "limit", "address")
		v.Problem = v.T("signin.throttled", 60)
		h.render(w, r, http.StatusTooManyRequests, "signin", v)
		return
	}
	token, _, err := h.svc.SignIn(r.Context(), r.PostForm.Get("username"), r.PostForm.Get("password"), appRoles[app]...)
	if err != nil {
		var pe *parcelguard.Error
		switch {
		case errors.Is(err, parcelguard.ErrThrottled):
			wait := 60
			if errors.As(err, &pe) && pe.RetryAfter > 0 {
				wait = int(pe.RetryAfter.Seconds() + 0.999)
			}
			w.Header().Set("Retry-After", strconv.Itoa(wait))
			h.log.Warn("web sign-in throttled", "app", app, "client", client, "limit", "name")
			v.Problem = v.T("signin.throttled", wait)
			h.render(w, r, http.StatusTooManyRequests, "signin", v)
		case errors.Is(err, parcelguard.ErrUnauthorized):
			// The name typed is not logged: it may be a password typed
			// into the wrong field.
			h.log.Info("web sign-in failed", "app", app, "client", client)
			v.Problem = v.T("signin.failed")
			h.render(w, r, http.StatusUnauthorized, "signin", v)
		default:
			h.fail(w, r, err)
		}
		return
	}
	// A session token the browser brought along (planted or old) ends
	// here: the new session always gets a new token (no fixation).
	if c, err := r.Cookie(sessionCookie); err == nil {
		_ = h.svc.SignOut(r.Context(), c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/", HttpOnly: true, Secure: true,
		SameSite: http.SameSiteStrictMode})
	rotateCSRF(w)
	seeOther(w, r, "/"+app+"/")
}

func (h *Handler) signOut(w http.ResponseWriter, r *http.Request, app string) {
	if !h.checkCSRF(w, r) {
		h.forbidden(w, r, app)
		return
	}
	if c, err := r.Cookie(sessionCookie); err == nil {
		if err := h.svc.SignOut(r.Context(), c.Value); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: true,
		SameSite: http.SameSiteStrictMode})
	rotateCSRF(w)
	seeOther(w, r, "/"+app+"/signin?done=signedout")
}

// peerAddress is the connection's remote host (IPv6 by /64), the client
// address when no Config.ClientAddress is set.
func peerAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
		return ip.Mask(net.CIDRMask(64, 128)).String()
	}
	return host
}
