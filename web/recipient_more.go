package web

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/notify"
	"github.com/parcelguard/parcelguard/service"
)

// The recipient's own decisions on the tracking page: delegate codes (a
// locker parcel's pickup code for a named person, sent to them; a
// doorstep parcel's delivery password for a named person, shown here),
// another locker while the parcel is not deposited yet, and for doorstep
// deliveries the password of the day and the next date after a failed
// attempt. Every form posts, checks the CSRF token and the tracking
// cookie, calls one use case and redirects back to /parcel.

func (h *Handler) registerRecipientActions(mux *http.ServeMux) {
	mux.Handle("POST /parcel/delegates", h.secure(http.HandlerFunc(h.parcelDelegate)))
	mux.Handle("POST /parcel/delegates/revoke", h.secure(http.HandlerFunc(h.parcelRevokeDelegate)))
	mux.Handle("POST /parcel/redirect", h.secure(http.HandlerFunc(h.parcelRedirect)))
}

// nearbyRadiusM is how far from the current locker the page looks for
// other lockers; nearbyLimit how many it lists.
const (
	nearbyRadiusM = 20_000
	nearbyLimit   = 6
)

// Nearby is a locker the recipient may switch to.
type Nearby struct {
	service.SiteMatch
	// Distance is the distance from the current locker, for reading.
	Distance string
	// FreeFit counts free compartments the parcel fits.
	FreeFit int
}

// doorstepView is the doorstep part of the tracking page.
type doorstepView struct {
	*service.DoorstepTracking
	Loc *time.Location
	// Date is the (next) delivery date, spelled out in the page language.
	Date string
	// Missed is set after a failed attempt, when a new date is set.
	Missed bool
	// CanDelegate says whether a delegate password can be issued now.
	CanDelegate bool
}

// recipientExtras fills the delegate, redirect and doorstep parts of pv.
func (h *Handler) recipientExtras(r *http.Request, v *view, a *service.RecipientAccess, pv *parcelView) error {
	ctx := r.Context()
	x := pv.Parcel
	if x.Mode == parcelguard.HandoverDoorstep {
		dt, err := h.svc.TrackDoorstep(ctx, a)
		if err != nil {
			return err
		}
		d := dt.Doorstep
		dv := &doorstepView{DoorstepTracking: dt, Loc: d.Location()}
		if start, err := d.Date.StartIn(dv.Loc); err == nil && !d.Date.IsZero() {
			dv.Date = notify.FormatDate(v.Lang, start, dv.Loc)
		}
		dv.Missed = d.Attempts > 0 && (x.State == parcelguard.ParcelRescheduled || x.State == parcelguard.ParcelAttemptFailed ||
			x.State == parcelguard.ParcelOutForDelivery)
		switch x.State {
		case parcelguard.ParcelAnnounced, parcelguard.ParcelOutForDelivery, parcelguard.ParcelRescheduled:
			dv.CanDelegate = d.NeedsPassword() && !d.Locked
		}
		pv.Doorstep = dv
		return nil
	}
	if x.State == parcelguard.ParcelDeposited {
		ds, err := h.svc.Delegates(ctx, a)
		if err != nil {
			return err
		}
		pv.Delegates = ds
		pv.CanDelegate = len(ds) < service.MaxDelegates && h.now().Before(x.Deadline)
	}
	switch x.State {
	case parcelguard.ParcelAnnounced, parcelguard.ParcelReserved, parcelguard.ParcelRedirected:
		if pv.Site == nil {
			return nil
		}
		pv.CanRedirect = true
		ms, err := h.svc.SearchSites(ctx, service.SiteQuery{Lat: pv.Site.Lat, Lon: pv.Site.Lon, RadiusM: nearbyRadiusM,
			Size: x.Size, Limit: nearbyLimit + 1})
		if err != nil {
			return err
		}
		for _, m := range ms {
			if m.Site.ID == pv.Site.ID || len(pv.Nearby) == nearbyLimit {
				continue
			}
			n := Nearby{SiteMatch: m, Distance: distance(v, m.DistanceM)}
			for size, free := range m.Free {
				if x.Size.Fits(size) {
					n.FreeFit += free
				}
			}
			pv.Nearby = append(pv.Nearby, n)
		}
	}
	return nil
}

// distance renders metres for reading: "850 m", "3.2 km".
func distance(v *view, m float64) string {
	if m < 1000 {
		return v.T("distance.m", int(m+0.5))
	}
	return v.T("distance.km", float64(int(m/100+0.5))/10)
}

// recipientForm checks a recipient form's CSRF token and tracking cookie;
// it answers and returns nil when either is missing.
func (h *Handler) recipientForm(w http.ResponseWriter, r *http.Request) (*service.RecipientAccess, *parcelguard.Parcel) {
	noStore(w)
	if !h.checkCSRF(w, r) {
		h.forbidden(w, r, "track")
		return nil, nil
	}
	a := h.recipient(r)
	if a == nil {
		seeOther(w, r, "/parcel")
		return nil, nil
	}
	t, err := h.svc.Track(r.Context(), a)
	if err != nil {
		h.fail(w, r, err)
		return nil, nil
	}
	return a, t.Parcel
}

// backToParcel redirects to the tracking page with an outcome: a notice
// on success, a problem for an expected refusal; anything else fails.
func (h *Handler) backToParcel(w http.ResponseWriter, r *http.Request, err error, done, problem string) {
	var pe *parcelguard.Error
	switch {
	case err == nil:
		seeOther(w, r, "/parcel?done="+done)
	case errors.Is(err, parcelguard.ErrNoFreeCompartment):
		seeOther(w, r, "/parcel?problem=full")
	case errors.As(err, &pe) && pe.Code == parcelguard.EINVALID:
		seeOther(w, r, "/parcel?problem="+problem)
	case errors.Is(err, parcelguard.ErrNotFound), errors.Is(err, parcelguard.ErrConflict),
		errors.Is(err, parcelguard.ErrIllegalTransition), errors.As(err, &pe) && pe.Code == parcelguard.ECONFLICT:
		seeOther(w, r, "/parcel?problem=state")
	default:
		h.fail(w, r, err)
	}
}

// parcelDelegate issues a delegate code (locker) or delegate password
// (doorstep) for a named person.
func (h *Handler) parcelDelegate(w http.ResponseWriter, r *http.Request) {
	a, x := h.recipientForm(w, r)
	if a == nil {
		return
	}
	name := strings.TrimSpace(r.PostForm.Get("name"))
	phone := strings.ReplaceAll(strings.TrimSpace(r.PostForm.Get("phone")), " ", "")
	email := strings.TrimSpace(r.PostForm.Get("email"))
	var err error
	if x.Mode == parcelguard.HandoverDoorstep {
		_, err = h.svc.CreateDoorstepDelegate(r.Context(), a, service.DelegateInput{Name: name, Phone: phone, Email: email})
	} else {
		_, _, err = h.svc.CreateDelegate(r.Context(), a, parcelguard.Delegate{Name: name, Phone: phone, Email: email})
	}
	h.backToParcel(w, r, err, "delegated", "delegate")
}

// parcelRevokeDelegate ends a delegate's code or password at once.
func (h *Handler) parcelRevokeDelegate(w http.ResponseWriter, r *http.Request) {
	a, x := h.recipientForm(w, r)
	if a == nil {
		return
	}
	id := r.PostForm.Get("id")
	var err error
	if len(id) > 100 || id == "" {
		err = parcelguard.ErrNotFound
	} else if x.Mode == parcelguard.HandoverDoorstep {
		_, err = h.svc.RevokeDoorstepDelegate(r.Context(), a, id)
	} else {
		_, err = h.svc.RevokeDelegate(r.Context(), a, id)
	}
	h.backToParcel(w, r, err, "revoked", "state")
}

// parcelRedirect sends a parcel not yet deposited to another locker.
func (h *Handler) parcelRedirect(w http.ResponseWriter, r *http.Request) {
	a, _ := h.recipientForm(w, r)
	if a == nil {
		return
	}
	site := r.PostForm.Get("site")
	var err error
	if site == "" || len(site) > 100 {
		err = parcelguard.Invalid(parcelguard.FieldError{Field: "site", Message: "choose a locker"})
	} else {
		_, err = h.svc.RedirectByRecipient(r.Context(), a, site)
	}
	h.backToParcel(w, r, err, "redirected", "site")
}

// recipientOutcome turns the done/problem query of /parcel into the
// page's notice or problem.
func recipientOutcome(v *view, r *http.Request) {
	q := r.URL.Query()
	switch q.Get("done") {
	case "extended":
		v.Notice = v.T("parcel.extended_notice")
	case "delegated":
		v.Notice = v.T("delegate.created_notice")
	case "revoked":
		v.Notice = v.T("delegate.revoked_notice")
	case "redirected":
		v.Notice = v.T("redirect.notice")
	}
	switch q.Get("problem") {
	case "delegate":
		v.Problem = v.T("delegate.invalid")
	case "site":
		v.Problem = v.T("redirect.choose")
	case "full":
		v.Problem = v.T("redirect.full")
	case "state":
		v.Problem = v.T("parcel.not_now")
	}
}
