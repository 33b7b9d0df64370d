package web

import (
	"errors"
	"net/http"
	"sort"
	"strings"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/service"
)

// Console screens beside the overview: a locker's outage state with the
// out-of-service switch, a locker's audit log with chain verification,
// failed-attempt hotspots, and the doorstep handovers couriers recorded
// offline that wait for a check or did not match.

func (h *Handler) registerConsoleMore(mux *http.ServeMux) {
	mux.Handle("POST /console/sites/{id}/service", h.authed("console", h.consoleSiteService))
	mux.Handle("GET /console/sites/{id}/audit", h.authed("console", h.consoleSiteAudit))
	mux.Handle("POST /console/sites/{id}/audit/verify", h.authed("console", h.consoleSiteAudit))
	mux.Handle("GET /console/hotspots", h.authed("console", h.consoleHotspots))
	mux.Handle("GET /console/doorstep", h.authed("console", h.consoleDoorstep))
	mux.Handle("POST /console/doorstep/{id}/verify", h.authed("console", h.consoleOfflineVerify))
}

// consoleSiteService takes a locker out of service (with a note) or puts
// it back.
func (h *Handler) consoleSiteService(w http.ResponseWriter, r *http.Request, s *service.SignedIn) {
	if !h.checkCSRF(w, r) {
		h.forbidden(w, r, "console")
		return
	}
	id := r.PathValue("id")
	out := r.PostForm.Get("out") == "true"
	note := strings.TrimSpace(r.PostForm.Get("note"))
	back := "/console/sites/" + pathSafe(id)
	err := h.svc.SetSiteOutOfService(r.Context(), s.Principal, id, out, note)
	var pe *parcelguard.Error
	switch {
	case errors.Is(err, parcelguard.ErrNotFound):
		h.notFound(w, r, s, "console")
	case errors.As(err, &pe) && pe.Code == parcelguard.EINVALID:
		seeOther(w, r, back+"?done=note")
	case err != nil:
		h.fail(w, r, err)
	case out:
		seeOther(w, r, back+"?done=out")
	default:
		seeOther(w, r, back+"?done=in")
	}
}

// siteAuditView is a locker's audit log.
type siteAuditView struct {
	Site     *parcelguard.Site
	Events   []*parcelguard.Event
	Verified bool
	// Break is the first broken link of the site's chain after a check.
	Break string
}

// siteAuditLimit bounds how many of a site's latest events the log shows.
const siteAuditLimit = 200

// consoleSiteAudit shows a site's latest audit events, newest first; as
// a POST it also verifies the chains first.
func (h *Handler) consoleSiteAudit(w http.ResponseWriter, r *http.Request, s *service.SignedIn) {
	verify := r.Method == http.MethodPost
	if verify && !h.checkCSRF(w, r) {
		h.forbidden(w, r, "console")
		return
	}
	site, err := h.svc.Site(r.Context(), s.Principal, r.PathValue("id"))
	if errors.Is(err, parcelguard.ErrNotFound) {
		h.notFound(w, r, s, "console")
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	av := &siteAuditView{Site: site}
	stream := parcelguard.SiteStream(site.ID)
	if av.Events, err = h.svc.SiteEvents(r.Context(), s.Principal, site.ID, siteAuditLimit); err != nil {
		h.fail(w, r, err)
		return
	}
	v := h.userView(w, r, s, "console", "console.site_audit")
	v.Title = v.T("console.site_audit") + " · " + site.Name
	if verify {
		rep, err := h.svc.VerifyAudit(r.Context(), s.Principal)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		av.Verified = true
		for _, b := range rep.Broken {
			if b.Stream == stream {
				av.Break = b.Error()
			}
		}
		if av.Break == "" {
			v.Notice = v.T("console.site_chain_ok_n", len(av.Events))
		} else {
			v.Problem = v.T("console.site_chain_broken")
		}
	}
	v.Data = av
	h.render(w, r, http.StatusOK, "console_site_audit", v)
}

// LockerHotspot is a locker where pickups fail more than elsewhere.
type LockerHotspot struct {
	Site *parcelguard.Site
	// Failures counts failed pickups (wrong codes); Locked counts codes
	// locked after too many failures.
	Failures, Locked int
}

// hotspotsView is the hotspot page.
type hotspotsView struct {
	Lockers []LockerHotspot
	Doors   []service.DoorHotspot
}

func (h *Handler) consoleHotspots(w http.ResponseWriter, r *http.Request, s *service.SignedIn) {
	sites, err := h.svc.NetworkOverview(r.Context(), s.Principal)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	hv := &hotspotsView{}
	for _, o := range sites {
		if n := o.Alarms[service.SeverityLow] + o.Alarms[service.SeverityMedium]; n > 0 {
			hv.Lockers = append(hv.Lockers, LockerHotspot{Site: o.Site, Failures: o.Alarms[service.SeverityLow], Locked: o.Alarms[service.SeverityMedium]})
		}
	}
	sort.SliceStable(hv.Lockers, func(i, j int) bool {
		return hv.Lockers[i].Failures+hv.Lockers[i].Locked > hv.Lockers[j].Failures+hv.Lockers[j].Locked
	})
	if hv.Doors, err = h.svc.DoorHotspots(r.Context(), s.Principal); err != nil {
		h.fail(w, r, err)
		return
	}
	v := h.userView(w, r, s, "console", "console.hotspots")
	v.Data = hv
	h.render(w, r, http.StatusOK, "console_hotspots", v)
}

// offlineView is the doorstep review page.
type offlineView struct {
	Pending, Mismatch []*parcelguard.OfflineEntry
}

func (h *Handler) consoleDoorstep(w http.ResponseWriter, r *http.Request, s *service.SignedIn) {
	ov := &offlineView{}
	for _, st := range []parcelguard.OfflineState{parcelguard.OfflinePending, parcelguard.OfflineMismatch} {
		es, err := h.svc.OfflineEntries(r.Context(), s.Principal, parcelguard.OfflineFilter{State: st, Limit: 500})
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if st == parcelguard.OfflinePending {
			ov.Pending = es
		} else {
			ov.Mismatch = es
		}
	}
	v := h.userView(w, r, s, "console", "console.doorstep")
	switch r.URL.Query().Get("done") {
	case string(parcelguard.OfflineVerified):
		v.Notice = v.T("console.offline_verified")
	case string(parcelguard.OfflineMismatch):
		v.Problem = v.T("console.offline_mismatch")
	case string(parcelguard.OfflinePending):
		v.Problem = v.T("console.offline_pending")
	}
	v.Data = ov
	h.render(w, r, http.StatusOK, "console_doorstep", v)
}

// consoleOfflineVerify checks a pending offline handover again.
func (h *Handler) consoleOfflineVerify(w http.ResponseWriter, r *http.Request, s *service.SignedIn) {
	if !h.checkCSRF(w, r) {
		h.forbidden(w, r, "console")
		return
	}
	e, err := h.svc.VerifyOffline(r.Context(), s.Principal, r.PathValue("id"))
	if errors.Is(err, parcelguard.ErrNotFound) {
		h.notFound(w, r, s, "console")
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	seeOther(w, r, "/console/doorstep?done="+string(e.State))
}
