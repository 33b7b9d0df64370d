package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/service"
)

// The courier's doorstep deliveries: the day's stops in route order, each
// with its handover page. The courier sends the parcel out (the recipient
// gets the day's password), then either enters the password the person at
// the door tells them, or records why the delivery failed. Both carry the
// courier's position: the browser's location when the courier allows it,
// typed coordinates otherwise. A broken compartment at a locker is
// reported from the deposit step and another one is reserved.

func (h *Handler) registerCourierDoorstep(mux *http.ServeMux) {
	mux.Handle("GET /courier/doorstep/{id}", h.authed("courier", h.courierDoorstep))
	mux.Handle("POST /courier/doorstep/{id}/out", h.authed("courier", h.courierDoorstepAction("out")))
	mux.Handle("POST /courier/doorstep/{id}/verify", h.authed("courier", h.courierDoorstepAction("verify")))
	mux.Handle("POST /courier/doorstep/{id}/fail", h.authed("courier", h.courierDoorstepAction("fail")))
	mux.Handle("POST /courier/parcels/{id}/problem", h.authed("courier", h.courierCompartmentProblem))
}

// attemptReasons are the reasons a courier can give, in the form's order.
var attemptReasons = []parcelguard.AttemptReason{parcelguard.ReasonNotAtHome, parcelguard.ReasonRefused,
	parcelguard.ReasonNotAccessible, parcelguard.ReasonWrongPassword}

// courierDoorstepView is one doorstep delivery's handover page.
type courierDoorstepView struct {
	*service.DoorstepParcel
	MapURL  string
	Reasons []parcelguard.AttemptReason
}

func (h *Handler) courierDoorstep(w http.ResponseWriter, r *http.Request, s *service.SignedIn) {
	d, err := h.svc.DoorstepParcel(r.Context(), s.Principal, r.PathValue("id"))
	if errors.Is(err, parcelguard.ErrNotFound) {
		h.notFound(w, r, s, "courier")
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v := h.userView(w, r, s, "courier", "courier.doorstep")
	v.Title = v.T("courier.doorstep") + " " + d.Parcel.TrackingNumber
	q := r.URL.Query()
	if p := q.Get("problem"); p != "" && len(p) < 40 {
		v.Problem = v.T("courier.door_problem." + p)
		if p == "wrong" {
			v.Problem = v.T("courier.door_problem.wrong", parcelguard.MaxDoorstepPasswordFailures-d.Doorstep.Failures)
		}
	}
	if q.Get("done") == "out" {
		v.Notice = v.T("courier.out_notice")
	}
	v.Data = &courierDoorstepView{DoorstepParcel: d, MapURL: mapURL(d.Doorstep.Lat, d.Doorstep.Lon), Reasons: attemptReasons}
	h.render(w, r, http.StatusOK, "courier_doorstep", v)
}

// position reads the courier's position from a form.
func position(r *http.Request) (service.Position, bool) {
	lat, err1 := strconv.ParseFloat(strings.TrimSpace(strings.ReplaceAll(r.PostForm.Get("lat"), ",", ".")), 64)
	lon, err2 := strconv.ParseFloat(strings.TrimSpace(strings.ReplaceAll(r.PostForm.Get("lon"), ",", ".")), 64)
	if err1 != nil || err2 != nil || lat < -90 || lat > 90 || lon < -180 || lon > 180 {
		return service.Position{}, false
	}
	return service.Position{Lat: lat, Lon: lon}, true
}

// courierDoorstepAction sends a parcel out, verifies a handover or
// records a failed attempt.
func (h *Handler) courierDoorstepAction(action string) func(http.ResponseWriter, *http.Request, *service.SignedIn) {
	return func(w http.ResponseWriter, r *http.Request, s *service.SignedIn) {
		if !h.checkCSRF(w, r) {
			h.forbidden(w, r, "courier")
			return
		}
		id := r.PathValue("id")
		back := "/courier/doorstep/" + pathSafe(id)
		var (
			x   *parcelguard.Parcel
			err error
		)
		pos, posOK := position(r)
		switch {
		case action == "out":
			var d *service.DoorstepParcel
			if d, err = h.svc.OutForDelivery(r.Context(), s.Principal, id, 0); err == nil {
				x = d.Parcel
			}
		case !posOK:
			seeOther(w, r, back+"?problem=position")
			return
		case action == "verify":
			pw := strings.TrimSpace(r.PostForm.Get("password"))
			_, err = h.svc.VerifyDoorstep(r.Context(), s.Principal, id, pw, pos)
		default:
			reason := parcelguard.AttemptReason(r.PostForm.Get("reason"))
			if !reason.Valid() {
				seeOther(w, r, back+"?problem=reason")
				return
			}
			var d *service.DoorstepParcel
			if d, err = h.svc.FailAttempt(r.Context(), s.Principal, id, reason, pos); err == nil {
				x = d.Parcel
			}
		}
		var pe *parcelguard.Error
		switch {
		case errors.Is(err, parcelguard.ErrNotFound):
			h.notFound(w, r, s, "courier")
		case errors.Is(err, service.ErrCourierAway):
			seeOther(w, r, back+"?problem=away")
		case errors.Is(err, parcelguard.ErrCodeLocked):
			seeOther(w, r, back+"?problem=locked")
		case errors.Is(err, parcelguard.ErrCodeRejected):
			seeOther(w, r, back+"?problem=wrong")
		case errors.As(err, &pe) && pe.Code == parcelguard.EINVALID:
			seeOther(w, r, back+"?problem=password")
		case errors.Is(err, parcelguard.ErrIllegalTransition) || errors.Is(err, parcelguard.ErrConflict):
			seeOther(w, r, back+"?problem=state")
		case err != nil:
			h.fail(w, r, err)
		case action == "out":
			seeOther(w, r, back+"?done=out")
		case action == "verify":
			seeOther(w, r, "/courier/?done=delivered&t="+queryEscape(r.PostForm.Get("tracking")))
		default:
			seeOther(w, r, "/courier/?done=attempt&t="+queryEscape(x.TrackingNumber))
		}
	}
}

// courierCompartmentProblem reports the reserved compartment as broken
// and takes another at the same locker (or, by the carrier's policy, at
// the nearest one with room).
func (h *Handler) courierCompartmentProblem(w http.ResponseWriter, r *http.Request, s *service.SignedIn) {
	if !h.checkCSRF(w, r) {
		h.forbidden(w, r, "courier")
		return
	}
	id := r.PathValue("id")
	back := "/courier/parcels/" + pathSafe(id)
	reason := strings.TrimSpace(r.PostForm.Get("reason"))
	if reason == "" || len(reason) > service.MaxProblemReason {
		seeOther(w, r, back+"?problem=reason")
		return
	}
	_, err := h.svc.ReportCompartmentProblem(r.Context(), s.Principal, id, reason)
	switch {
	case errors.Is(err, parcelguard.ErrNoFreeCompartment):
		seeOther(w, r, back+"?problem=full")
	case errors.Is(err, parcelguard.ErrNotFound):
		h.notFound(w, r, s, "courier")
	case errors.Is(err, parcelguard.ErrConflict) || errors.Is(err, parcelguard.ErrIllegalTransition):
		seeOther(w, r, back+"?problem=state")
	case err != nil:
		h.fail(w, r, err)
	default:
		seeOther(w, r, back+"?done=replaced")
	}
}
