package web

import (
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/qr"
	"github.com/parcelguard/parcelguard/service"
)

// The recipient's pages. A message links to /track#<token>: the token is
// in the fragment, which browsers never send. The landing page's script
// takes it out of the address bar and posts it (with a CSRF token) to
// POST /track, which verifies it and exchanges it for a short-lived
// recipient cookie (HttpOnly, Secure, SameSite=Strict) holding a fresh
// token for the same parcel, then redirects to the clean URL /parcel. The
// PIN and QR code appear only there, in a response nobody may cache.

const (
	recipientCookie = "pg_track"
	// recipientTTL is how long the tracking cookie lives: long enough to
	// walk to the locker, short enough that a shared device forgets.
	recipientTTL = 30 * time.Minute
	// maxLinkToken bounds the token a form may carry before parsing.
	maxLinkToken = 512
)

func (h *Handler) registerRecipient(mux *http.ServeMux) {
	mux.Handle("GET /{$}", h.secure(http.HandlerFunc(h.home)))
	mux.Handle("GET /track", h.secure(http.HandlerFunc(h.trackLanding)))
	mux.Handle("POST /track", h.secure(http.HandlerFunc(h.trackExchange)))
	mux.Handle("GET /parcel", h.secure(http.HandlerFunc(h.parcelPage)))
	mux.Handle("POST /parcel/extend", h.secure(http.HandlerFunc(h.parcelExtend)))
	mux.Handle("POST /parcel/forget", h.secure(http.HandlerFunc(h.parcelForget)))
	h.registerRecipientActions(mux)
}

func (h *Handler) home(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, "home", h.newView(w, r, "track", "home.title"))
}

func (h *Handler) trackLanding(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	h.render(w, r, http.StatusOK, "track", h.newView(w, r, "track", "track.title"))
}

// trackExchange verifies the link token from the landing page's form and
// swaps it for the tracking cookie.
func (h *Handler) trackExchange(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	if !h.checkCSRF(w, r) {
		h.forbidden(w, r, "track")
		return
	}
	token := r.PostForm.Get("token")
	var a *service.RecipientAccess
	err := error(parcelguard.ErrUnauthorized)
	if token != "" && len(token) <= maxLinkToken {
		a, err = h.svc.AuthenticateRecipient(r.Context(), token)
	}
	if err != nil {
		if !errors.Is(err, parcelguard.ErrUnauthorized) {
			h.fail(w, r, err)
			return
		}
		v := h.newView(w, r, "track", "track.title")
		v.Problem = v.T("track.invalid")
		h.render(w, r, http.StatusUnauthorized, "track", v)
		return
	}
	if err := h.setRecipientCookie(w, r, a); err != nil {
		h.fail(w, r, err)
		return
	}
	seeOther(w, r, "/parcel")
}

// setRecipientCookie (re)issues the tracking cookie for a's parcel.
func (h *Handler) setRecipientCookie(w http.ResponseWriter, r *http.Request, a *service.RecipientAccess) error {
	tok, exp, err := h.svc.RecipientSession(r.Context(), a, recipientTTL)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: recipientCookie, Value: tok, Path: "/", Expires: exp,
		MaxAge: max(1, int(exp.Sub(h.now()).Seconds())), HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
	return nil
}

// recipient returns the access of the request's tracking cookie, or nil.
func (h *Handler) recipient(r *http.Request) *service.RecipientAccess {
	c, err := r.Cookie(recipientCookie)
	if err != nil || c.Value == "" || len(c.Value) > maxLinkToken {
		return nil
	}
	a, err := h.svc.AuthenticateRecipient(r.Context(), c.Value)
	if err != nil {
		return nil
	}
	return a
}

// parcelView is what the tracking page shows.
type parcelView struct {
	*service.Tracking
	Loc      *time.Location
	Code     *service.PickupCredentials
	QR       template.HTML
	MapURL   string
	Deadline time.Time
	// Remaining is the time left until the deadline, pre-rendered for
	// readers without script; the countdown script keeps it current.
	Remaining string
	Extended  bool
	// Delegates are a deposited parcel's delegate codes; CanDelegate says
	// whether another may be created.
	Delegates   []service.DelegateState
	CanDelegate bool
	// CanRedirect is set before the deposit; Nearby lists other lockers
	// near the current one with room for the parcel, nearest first.
	CanRedirect bool
	Nearby      []Nearby
	// Doorstep is the doorstep delivery, nil for a locker parcel.
	Doorstep *doorstepView
}

func (h *Handler) parcelPage(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	a := h.recipient(r)
	if a == nil {
		v := h.newView(w, r, "track", "track.title")
		v.Problem = v.T("track.expired")
		h.render(w, r, http.StatusUnauthorized, "track", v)
		return
	}
	t, err := h.svc.Track(r.Context(), a)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v := h.newView(w, r, "track", "parcel.title")
	pv := &parcelView{Tracking: t, Loc: time.UTC, Deadline: t.Parcel.Deadline}
	if t.Site != nil {
		pv.Loc = t.Site.Location()
		pv.MapURL = mapURL(t.Site.Lat, t.Site.Lon)
	}
	if t.Parcel.State == parcelguard.ParcelDeposited {
		c, err := h.svc.TrackCode(r.Context(), a)
		switch {
		case err == nil:
			pv.Code = c
			svg, err := qr.SVG(c.QRToken, v.T("parcel.qr_alt", t.Parcel.TrackingNumber))
			if err != nil {
				h.fail(w, r, err)
				return
			}
			pv.QR = template.HTML(svg) // rendered by qr.SVG, which escapes its title
		case errors.Is(err, parcelguard.ErrConflict):
		default:
			h.fail(w, r, err)
			return
		}
	}
	if !pv.Deadline.IsZero() {
		pv.Remaining = remaining(v, pv.Deadline.Sub(h.now()))
	}
	if err := h.recipientExtras(r, v, a, pv); err != nil {
		h.fail(w, r, err)
		return
	}
	recipientOutcome(v, r)
	v.Data = pv
	h.render(w, r, http.StatusOK, "parcel", v)
}

// remaining renders a duration as days and hours (or hours and minutes).
func remaining(v *view, d time.Duration) string {
	if d <= 0 {
		return v.T("countdown.over")
	}
	days, hours, mins := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	if days > 0 {
		return v.T("countdown.days", days, hours)
	}
	return v.T("countdown.hours", hours, mins)
}

func (h *Handler) parcelExtend(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	if !h.checkCSRF(w, r) {
		h.forbidden(w, r, "track")
		return
	}
	a := h.recipient(r)
	if a == nil {
		seeOther(w, r, "/parcel")
		return
	}
	if _, err := h.svc.ExtendDeadline(r.Context(), a); err != nil {
		var pe *parcelguard.Error
		if errors.As(err, &pe) && (pe.Code == parcelguard.ECONFLICT || pe.Code == parcelguard.EFORBIDDEN) {
			seeOther(w, r, "/parcel")
			return
		}
		h.fail(w, r, err)
		return
	}
	seeOther(w, r, "/parcel?done=extended")
}

// parcelForget ends the tracking session on this device.
func (h *Handler) parcelForget(w http.ResponseWriter, r *http.Request) {
	if !h.checkCSRF(w, r) {
		h.forbidden(w, r, "track")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: recipientCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: true,
		SameSite: http.SameSiteStrictMode})
	seeOther(w, r, "/")
}

// forbidden answers a form whose CSRF token did not check out.
func (h *Handler) forbidden(w http.ResponseWriter, r *http.Request, app string) {
	v := h.newView(w, r, app, "error.title")
	v.Problem = v.T("error.csrf")
	h.render(w, r, http.StatusForbidden, "error", v)
}

// mapURL links to a point on OpenStreetMap.
func mapURL(lat, lon float64) string {
	la, lo := strconv.FormatFloat(lat, 'f', 6, 64), strconv.FormatFloat(lon, 'f', 6, 64)
	return "https://www.openstreetmap.org/?mlat=" + la + "&mlon=" + lo + "#map=18/" + la + "/" + lo
}
