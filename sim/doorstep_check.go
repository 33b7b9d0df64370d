package sim

import (
	"context"
	"math"
	"sort"
	"sync/atomic"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/service"
)

// DoorstepSummary is what happened to the doorstep shipments.
type DoorstepSummary struct {
	Config DoorstepConfig `json:"config"`
	// MaxAttempts is the carrier's limit the run was held to.
	MaxAttempts int   `json:"max_attempts"`
	Announced   int64 `json:"announced"`
	Delivered   int64 `json:"delivered"`
	// FirstAttempt were delivered at the first attempt, ByDelegate to a
	// delegate the recipient named.
	FirstAttempt int64 `json:"delivered_first_attempt"`
	ByDelegate   int64 `json:"delivered_to_delegate"`
	// FailedAttempts counts every failed attempt, ByReason by reason
	// (not_delivered: nobody tried, recorded at the end of the day).
	FailedAttempts int64            `json:"failed_attempts"`
	ByReason       map[string]int64 `json:"failed_by_reason"`
	Lockouts       int64            `json:"lockouts"`
	Redirected     int64            `json:"redirected"`
	// RedirectDeposited were put into their locker, RedirectPickedUp
	// taken out by the recipient with the PIN of the deposit notice.
	RedirectDeposited int64 `json:"redirect_deposited"`
	RedirectPickedUp  int64 `json:"redirect_picked_up"`
	Returned          int64 `json:"returned"`
	DelegatesNamed    int64 `json:"delegates_named"`
	// StillOpen are out for delivery or rescheduled at the end.
	StillOpen int `json:"still_open"`
	// Refused, as they must be: claims from 5 km away, earlier days'
	// passwords, mistyped ones, repeated verifications after the
	// handover, the right password after a lockout.
	FarClaimsRefused      int64                `json:"far_claims_refused"`
	StalePasswordsRefused int64                `json:"stale_passwords_refused"`
	TyposRefused          int64                `json:"typos_refused"`
	ReplaysRefused        int64                `json:"replays_refused"`
	AfterLockoutRefused   int64                `json:"after_lockout_refused"`
	DeliveredShare        float64              `json:"delivered_share"`
	Messages              map[string]int       `json:"messages"`
	Hourly                map[string][]float64 `json:"hourly"`
	AuditHistoriesChecked int                  `json:"audit_histories_checked"`
	ShipmentsCheckedAtEnd int                  `json:"shipments_checked_at_end"`
}

// Finish checks every shipment against the store: its state, at most one
// proof and only for a delivered one, its attempts within the carrier's
// limit and equal to what the simulation saw, a password message for each
// day out, a pickup grant for each redirected one; and, for every
// AuditSample-th, that its audit history holds one attempt_failed event
// per attempt and at most one delivery.
func (d *Doorstep) Finish(ctx context.Context, w *World) {
	d.mu.Lock()
	n := len(d.recs)
	d.mu.Unlock()
	for i := range n {
		d.mu.Lock()
		rec := d.recs[i]
		d.mu.Unlock()
		if rec.pid == (shortID{}) {
			continue
		}
		dp, err := d.read(ctx, rec.id())
		if err != nil {
			continue
		}
		d.checkEnd(ctx, i, &rec, dp)
	}
}

func (d *Doorstep) checkEnd(ctx context.Context, i int, rec *doorRec, dp *service.DoorstepParcel) {
	w := d.w
	ok := true
	bad := func(kind, format string, args ...any) {
		ok = false
		w.Violation(kind, format, args...)
	}
	if got, want := dp.Parcel.State, dstateNames[rec.state]; got != want {
		bad("doorstep_state", "shipment %s is %s in the store, %s in the simulation", rec.id(), got, want)
	}
	if (dp.Proof != nil) != (rec.state == dDelivered) {
		bad("doorstep_two_proofs", "shipment %s (%s) has proof %v", rec.id(), dp.Parcel.State, dp.Proof != nil)
	}
	if a := dp.Doorstep.Attempts; a > d.max || a != int(rec.attempts) {
		bad("doorstep_attempts", "shipment %s has %d failed attempts in the store (limit %d), the simulation saw %d", rec.id(), a, d.max, rec.attempts)
	}
	if rec.needsPW && (rec.pwMsgs < rec.daysOut || rec.pwMsgs > rec.daysOut+1) {
		bad("notification_lost", "shipment %s went out on %d days and its recipient got %d delivery passwords", rec.id(), rec.daysOut, rec.pwMsgs)
	}
	if rec.state == dRedirected {
		bad("redirect_no_grant", "redirected shipment %s was never deposited, so its recipient has no pickup grant", rec.id())
	}
	if rec.state == dDeposited || rec.state == dPickedUp {
		if rec.notes&nDeposit == 0 {
			bad("redirect_no_grant", "redirected shipment %s is in its locker but its recipient never got a PIN", rec.id())
		}
	}
	if i%w.cfg.AuditSample == 0 {
		d.checkHistory(ctx, rec, &ok)
	}
	if ok {
		w.checks.ok()
	}
}

// checkHistory: one attempt_failed event per failed attempt, a delivery
// event exactly for a delivered shipment.
func (d *Doorstep) checkHistory(ctx context.Context, rec *doorRec, ok *bool) {
	w := d.w
	var evs []*parcelguard.Event
	err := w.timed("check_history", func() (err error) {
		evs, err = w.svc.ParcelEvents(ctx, w.operator, rec.id())
		return err
	})
	if err != nil {
		w.Unexpected("history of "+rec.id(), err)
		return
	}
	failed, delivered := 0, 0
	for _, e := range evs {
		switch e.Kind {
		case parcelguard.EventDoorstepAttemptFailed:
			failed++
		case parcelguard.EventDoorstepDelivered:
			delivered++
		}
	}
	d.mu.Lock()
	d.histories++
	d.mu.Unlock()
	if failed != int(rec.attempts) || failed > d.max {
		*ok = false
		w.Violation("audit_history", "shipment %s: %d attempt_failed events, the simulation saw %d attempts (limit %d)", rec.id(), failed, rec.attempts, d.max)
	}
	if want := map[bool]int{true: 1}[rec.state == dDelivered]; delivered != want {
		*ok = false
		w.Violation("doorstep_two_proofs", "shipment %s: %d delivery events in its audit history, want %d", rec.id(), delivered, want)
	}
}

// Report adds the doorstep section to the summary.
func (d *Doorstep) Report(s *Summary) {
	st := &d.st
	d.mu.Lock()
	defer d.mu.Unlock()
	out := &DoorstepSummary{Config: d.cfg, MaxAttempts: d.max, Announced: st.announced.Load(), Delivered: st.delivered.Load(),
		FirstAttempt: st.firstAttempt.Load(), ByDelegate: st.byDelegate.Load(), FailedAttempts: st.failed.Load(),
		ByReason: map[string]int64{}, Lockouts: st.lockouts.Load(), Redirected: st.redirected.Load(),
		RedirectDeposited: st.redirectDeposited.Load(), RedirectPickedUp: st.redirectPickedUp.Load(), Returned: st.returned.Load(),
		DelegatesNamed: st.delegates.Load(), FarClaimsRefused: st.farRefused.Load(), StalePasswordsRefused: st.staleRefused.Load(),
		TyposRefused: st.typoRefused.Load(), ReplaysRefused: st.replaysRefused.Load(), AfterLockoutRefused: st.afterLockoutRefused.Load(),
		Messages: map[string]int{}, AuditHistoriesChecked: d.histories, ShipmentsCheckedAtEnd: len(d.recs)}
	st.byReason.Range(func(k, v any) bool {
		out.ByReason[k.(string)] = v.(*atomic.Int64).Load()
		return true
	})
	for k, v := range d.msgs {
		out.Messages[k] = v
	}
	for i := range d.recs {
		if r := &d.recs[i]; r.state == dOut || r.state == dRescheduled {
			out.StillOpen++
		}
	}
	out.DeliveredShare = share(out.Delivered, out.Announced)
	// The last use of the records.
	out.ShipmentsCheckedAtEnd = len(d.recs)
	d.recs = nil
	if d.free != nil {
		d.free()
	}
	hours := int(math.Ceil(s.Config.Duration().Hours()))
	out.Hourly = map[string][]float64{"delivered": hourlyOf(st.hDelivered, hours), "failed_attempts": hourlyOf(st.hFailed, hours),
		"redirected": hourlyOf(st.hRedirected, hours), "returned": hourlyOf(st.hReturned, hours),
		"redirect_picked_up": hourlyOf(st.hPickedUp, hours)}
	s.Doorstep = out
}

// reasonsSorted lists the failure reasons of m by count, largest first.
func reasonsSorted(m map[string]int64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		if m[out[i]] != m[out[j]] {
			return m[out[i]] > m[out[j]]
		}
		return out[i] < out[j]
	})
	return out
}
