package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/audit"
	"github.com/parcelguard/parcelguard/service"
)

// The operator console under /console/: overview, sites and compartments,
// parcel search, a parcel's audit log with chain verification, the return
// queue and (in demo and development) the local mailbox; console_more.go
// adds outages, a locker's audit log, hotspots and doorstep reviews.

func (h *Handler) registerConsole(mux *http.ServeMux) {
	h.registerSignIn(mux, "console")
	mux.Handle("GET /console/{$}", h.authed("console", h.consoleOverview))
	mux.Handle("GET /console/sites/{id}", h.authed("console", h.consoleSite))
	mux.Handle("POST /console/compartments/{id}/state", h.authed("console", h.consoleCompartmentState))
	mux.Handle("GET /console/parcels", h.authed("console", h.consoleParcels))
	mux.Handle("GET /console/parcels/{id}", h.authed("console", h.consoleParcel))
	mux.Handle("GET /console/returns", h.authed("console", h.consoleReturns))
	mux.Handle("GET /console/audit", h.authed("console", h.consoleAudit))
	mux.Handle("POST /console/audit/verify", h.authed("console", h.consoleVerify))
	mux.Handle("GET /console/mailbox", h.authed("console", h.consoleMailbox))
	h.registerConsoleMore(mux)
	h.registerConsoleAccounts(mux)
}

// overviewView is the console's start page.
type overviewView struct {
	Sites      []service.SiteOverview
	Severities []service.AlarmSeverity
	Totals     map[service.AlarmSeverity]int
}

func (h *Handler) consoleOverview(w http.ResponseWriter, r *http.Request, s *service.SignedIn) {
	sites, err := h.svc.NetworkOverview(r.Context(), s.Principal)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ov := &overviewView{Sites: sites, Severities: service.Severities, Totals: map[service.AlarmSeverity]int{}}
	for _, site := range sites {
		for sev, n := range site.Alarms {
			ov.Totals[sev] += n
		}
	}
	v := h.userView(w, r, s, "console", "console.overview")
	v.Data = ov
	h.render(w, r, http.StatusOK, "console_overview", v)
}

// siteView is one site with its compartments.
type siteView struct {
	Site         *parcelguard.Site
	Compartments []*parcelguard.Compartment
	// Status is the locker's outage state.
	Status *parcelguard.LockerStatus
}

func (h *Handler) consoleSite(w http.ResponseWriter, r *http.Request, s *service.SignedIn) {
	site, err := h.svc.Site(r.Context(), s.Principal, r.PathValue("id"))
	if errors.Is(err, parcelguard.ErrNotFound) {
		h.notFound(w, r, s, "console")
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	cs, err := h.svc.Compartments(r.Context(), s.Principal, site.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	st, err := h.svc.LockerStatus(r.Context(), s.Principal, site.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v := h.userView(w, r, s, "console", "console.site")
	v.Title = site.Name
	switch r.URL.Query().Get("done") {
	case "blocked":
		v.Notice = v.T("console.blocked_notice", r.URL.Query().Get("label"))
	case "free":
		v.Notice = v.T("console.unblocked_notice", r.URL.Query().Get("label"))
	case "busy":
		v.Problem = v.T("console.busy", r.URL.Query().Get("label"))
	case "out":
		v.Notice = v.T("console.out_notice")
	case "in":
		v.Notice = v.T("console.in_notice")
	case "note":
		v.Problem = v.T("console.note_invalid")
	}
	v.Data = &siteView{Site: site, Compartments: cs, Status: st}
	h.render(w, r, http.StatusOK, "console_site", v)
}

// consoleCompartmentState blocks or unblocks a compartment.
func (h *Handler) consoleCompartmentState(w http.ResponseWriter, r *http.Request, s *service.SignedIn) {
	if !h.checkCSRF(w, r) {
		h.forbidden(w, r, "console")
		return
	}
	to := parcelguard.CompartmentState(r.PostForm.Get("state"))
	if to != parcelguard.CompartmentBlocked && to != parcelguard.CompartmentFree {
		http.Error(w, "bad state", http.StatusBadRequest)
		return
	}
	c, err := h.svc.SetCompartmentState(r.Context(), s.Principal, r.PathValue("id"), to)
	if errors.Is(err, parcelguard.ErrCompartmentBusy) {
		site := r.PostForm.Get("site")
		seeOther(w, r, "/console/sites/"+pathSafe(site)+"?done=busy&label="+queryEscape(r.PostForm.Get("label")))
		return
	}
	if errors.Is(err, parcelguard.ErrNotFound) {
		h.notFound(w, r, s, "console")
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	seeOther(w, r, "/console/sites/"+pathSafe(c.SiteID)+"?done="+string(to)+"&label="+queryEscape(c.Label))
}

// parcelsView is the parcel search.
type parcelsView struct {
	Query, State string
	States       []parcelguard.ParcelState
	Parcels      []*parcelguard.Parcel
	Searched     bool
}

var searchableStates = []parcelguard.ParcelState{parcelguard.ParcelAnnounced, parcelguard.ParcelReserved,
	parcelguard.ParcelDeposited, parcelguard.ParcelPickedUp, parcelguard.ParcelExpired, parcelguard.ParcelCollected,
	parcelguard.ParcelReturned, parcelguard.ParcelCancelled}

func (h *Handler) consoleParcels(w http.ResponseWriter, r *http.Request, s *service.SignedIn) {
	q := r.URL.Query()
	pv := &parcelsView{Query: strings.TrimSpace(q.Get("tracking")), State: q.Get("state"), States: searchableStates}
	v := h.userView(w, r, s, "console", "console.parcels")
	if pv.Query != "" || pv.State != "" {
		pv.Searched = true
		f := parcelguard.ParcelFilter{TrackingNumber: pv.Query, State: parcelguard.ParcelState(pv.State), Limit: 100}
		ps, err := h.svc.Parcels(r.Context(), s.Principal, f)
		var pe *parcelguard.Error
		if errors.As(err, &pe) && pe.Code == parcelguard.EINVALID {
			v.Problem = v.T("console.bad_search")
		} else if err != nil {
			h.fail(w, r, err)
			return
		}
		pv.Parcels = ps
	}
	v.Data = pv
	h.render(w, r, http.StatusOK, "console_parcels", v)
}

// parcelAuditView is a parcel with its audit events.
type parcelAuditView struct {
	Parcel *parcelguard.Parcel
	Events []*parcelguard.Event
}

func (h *Handler) consoleParcel(w http.ResponseWriter, r *http.Request, s *service.SignedIn) {
	x, err := h.svc.Parcel(r.Context(), s.Principal, r.PathValue("id"))
	if errors.Is(err, parcelguard.ErrNotFound) {
		h.notFound(w, r, s, "console")
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	events, err := h.svc.ParcelEvents(r.Context(), s.Principal, x.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v := h.userView(w, r, s, "console", "console.parcel")
	v.Title = v.T("console.parcel") + " " + x.TrackingNumber
	v.Data = &parcelAuditView{Parcel: x, Events: events}
	h.render(w, r, http.StatusOK, "console_parcel", v)
}

func (h *Handler) consoleReturns(w http.ResponseWriter, r *http.Request, s *service.SignedIn) {
	ps, err := h.svc.Parcels(r.Context(), s.Principal, parcelguard.ParcelFilter{State: parcelguard.ParcelExpired, Limit: 500})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v := h.userView(w, r, s, "console", "console.returns")
	v.Data = ps
	h.render(w, r, http.StatusOK, "console_returns", v)
}

// auditView is the chain verification page.
type auditView struct {
	Verified bool
	Report   *audit.Report
}

func (h *Handler) consoleAudit(w http.ResponseWriter, r *http.Request, s *service.SignedIn) {
	v := h.userView(w, r, s, "console", "console.audit")
	v.Data = &auditView{}
	h.render(w, r, http.StatusOK, "console_audit", v)
}

// consoleVerify walks every audit chain and shows the result; it changes
// nothing, but is a POST because it is expensive.
func (h *Handler) consoleVerify(w http.ResponseWriter, r *http.Request, s *service.SignedIn) {
	if !h.checkCSRF(w, r) {
		h.forbidden(w, r, "console")
		return
	}
	rep, err := h.svc.VerifyAudit(r.Context(), s.Principal)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v := h.userView(w, r, s, "console", "console.audit")
	if rep.OK() {
		v.Notice = v.T("console.chain_ok", rep.Events, rep.Streams)
	} else {
		v.Problem = v.T("console.chain_broken", len(rep.Broken))
	}
	v.Data = &auditView{Verified: true, Report: rep}
	h.render(w, r, http.StatusOK, "console_audit", v)
}

func (h *Handler) consoleMailbox(w http.ResponseWriter, r *http.Request, s *service.SignedIn) {
	v := h.userView(w, r, s, "console", "console.mailbox")
	if h.mailbox == nil {
		v.Data = nil
		h.render(w, r, http.StatusOK, "console_mailbox", v)
		return
	}
	msgs, err := h.mailbox.List(r.Context(), parcelguard.MailboxFilter{ParcelID: r.URL.Query().Get("parcel"), Limit: 200})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v.Data = msgs
	h.render(w, r, http.StatusOK, "console_mailbox", v)
}

// notFound answers an unknown id inside an app.
func (h *Handler) notFound(w http.ResponseWriter, r *http.Request, s *service.SignedIn, app string) {
	v := h.userView(w, r, s, app, "error.title")
	v.Problem = v.T("error.not_found")
	h.render(w, r, http.StatusNotFound, "error", v)
}
