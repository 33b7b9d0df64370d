package web

import (
	"errors"
	"net/http"
	"sort"
	"strings"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/service"
)

// The courier app under /courier/, for phones: today's work (parcels to
// deposit, grouped by locker, and expired parcels to collect for return),
// the deposit flow (reserve a compartment, put the parcel in, confirm) and
// collection. A courier sees only their carrier's parcels. Doorstep
// deliveries in route order are "today"'s own section (courier_doorstep.go).

func (h *Handler) registerCourier(mux *http.ServeMux) {
	h.registerSignIn(mux, "courier")
	mux.Handle("GET /courier/{$}", h.authed("courier", h.courierToday))
	mux.Handle("GET /courier/find", h.authed("courier", h.courierFind))
	mux.Handle("GET /courier/parcels/{id}", h.authed("courier", h.courierParcel))
	mux.Handle("POST /courier/parcels/{id}/reserve", h.authed("courier", h.courierAction("reserve")))
	mux.Handle("POST /courier/parcels/{id}/deposit", h.authed("courier", h.courierAction("deposit")))
	mux.Handle("POST /courier/parcels/{id}/collect", h.authed("courier", h.courierAction("collect")))
	h.registerCourierDoorstep(mux)
}

// todayView is the courier's day: locker stops by name, doorstep
// deliveries in route order.
type todayView struct {
	Lockers  []service.ManifestStop
	Doorstep []service.DoorstepStop
}

func (h *Handler) courierToday(w http.ResponseWriter, r *http.Request, s *service.SignedIn) {
	m, err := h.svc.CourierManifest(r.Context(), s.Principal)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	sort.SliceStable(m.Lockers, func(i, j int) bool { return m.Lockers[i].Site.Name < m.Lockers[j].Site.Name })
	v := h.userView(w, r, s, "courier", "courier.today")
	t := r.URL.Query().Get("t")
	switch r.URL.Query().Get("done") {
	case "deposited":
		v.Notice = v.T("courier.deposited_notice", t)
	case "collected":
		v.Notice = v.T("courier.collected_notice", t)
	case "delivered":
		v.Notice = v.T("courier.delivered_notice", t)
	case "attempt":
		v.Notice = v.T("courier.attempt_notice", t)
	}
	v.Data = &todayView{Lockers: m.Lockers, Doorstep: m.Doorstep}
	h.render(w, r, http.StatusOK, "courier_today", v)
}

// courierFind looks a parcel up by its tracking number (typed or scanned
// from the label).
func (h *Handler) courierFind(w http.ResponseWriter, r *http.Request, s *service.SignedIn) {
	tn := strings.TrimSpace(r.URL.Query().Get("tracking"))
	if tn != "" && len(tn) <= 64 {
		ps, err := h.svc.Parcels(r.Context(), s.Principal, parcelguard.ParcelFilter{TrackingNumber: tn, Limit: 2})
		var pe *parcelguard.Error
		if err != nil && !(errors.As(err, &pe) && pe.Code == parcelguard.EINVALID) {
			h.fail(w, r, err)
			return
		}
		if len(ps) == 1 && ps[0].Mode == parcelguard.HandoverDoorstep {
			seeOther(w, r, "/courier/doorstep/"+pathSafe(ps[0].ID))
			return
		}
		if len(ps) == 1 {
			seeOther(w, r, "/courier/parcels/"+pathSafe(ps[0].ID))
			return
		}
	}
	v := h.userView(w, r, s, "courier", "courier.find")
	v.Problem = v.T("courier.not_found", tn)
	v.Data = tn
	h.render(w, r, http.StatusNotFound, "courier_find", v)
}

// courierParcelView is one parcel in the deposit or collection flow.
type courierParcelView struct {
	Parcel      *parcelguard.Parcel
	Site        *parcelguard.Site
	Compartment *parcelguard.Compartment
}

func (h *Handler) courierParcel(w http.ResponseWriter, r *http.Request, s *service.SignedIn) {
	x, err := h.svc.Parcel(r.Context(), s.Principal, r.PathValue("id"))
	if errors.Is(err, parcelguard.ErrNotFound) {
		h.notFound(w, r, s, "courier")
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	pv := &courierParcelView{Parcel: x}
	if x.SiteID != "" {
		if pv.Site, err = h.svc.Site(r.Context(), s.Principal, x.SiteID); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	if x.CompartmentID != "" {
		cs, err := h.svc.Compartments(r.Context(), s.Principal, x.SiteID)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		for _, c := range cs {
			if c.ID == x.CompartmentID {
				pv.Compartment = c
			}
		}
	}
	v := h.userView(w, r, s, "courier", "courier.parcel")
	v.Title = v.T("courier.parcel") + " " + x.TrackingNumber
	switch r.URL.Query().Get("problem") {
	case "full":
		v.Problem = v.T("courier.no_compartment")
	case "state":
		v.Problem = v.T("courier.wrong_state")
	case "reason":
		v.Problem = v.T("courier.problem_reason")
	}
	if r.URL.Query().Get("done") == "replaced" && pv.Compartment != nil {
		v.Notice = v.T("courier.replaced_notice", pv.Compartment.Label)
	}
	v.Data = pv
	h.render(w, r, http.StatusOK, "courier_parcel", v)
}

// courierAction runs one step of the deposit or collection flow.
func (h *Handler) courierAction(action string) func(http.ResponseWriter, *http.Request, *service.SignedIn) {
	return func(w http.ResponseWriter, r *http.Request, s *service.SignedIn) {
		if !h.checkCSRF(w, r) {
			h.forbidden(w, r, "courier")
			return
		}
		id := r.PathValue("id")
		var (
			x   *parcelguard.Parcel
			err error
		)
		switch action {
		case "reserve":
			x, err = h.svc.Reserve(r.Context(), s.Principal, id)
		case "deposit":
			x, err = h.svc.Deposit(r.Context(), s.Principal, id)
		case "collect":
			x, err = h.svc.Collect(r.Context(), s.Principal, id)
		}
		back := "/courier/parcels/" + pathSafe(id)
		switch {
		case errors.Is(err, parcelguard.ErrNoFreeCompartment):
			seeOther(w, r, back+"?problem=full")
		case errors.Is(err, parcelguard.ErrNotFound):
			h.notFound(w, r, s, "courier")
		case errors.Is(err, parcelguard.ErrConflict) || errors.Is(err, parcelguard.ErrIllegalTransition):
			seeOther(w, r, back+"?problem=state")
		case err != nil:
			h.fail(w, r, err)
		case action == "reserve":
			seeOther(w, r, back)
		case action == "deposit":
			seeOther(w, r, "/courier/?done=deposited&t="+queryEscape(x.TrackingNumber))
		default:
			seeOther(w, r, "/courier/?done=collected&t="+queryEscape(x.TrackingNumber))
		}
	}
}
