package sim

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/audit"
)

// final drains the scheduler and the outbox, then checks what can only be
// checked at the end: every site once more, every notification received,
// the sampled parcels' audit histories, and every audit chain.
func (w *World) final(ctx context.Context) (*audit.Report, error) {
	for range 100 {
		fired, err := w.fireTimers(ctx)
		if err != nil {
			return nil, err
		}
		sent, err := w.dispatch(ctx)
		if err != nil {
			return nil, err
		}
		if fired == 0 && sent == 0 {
			break
		}
	}
	for _, s := range w.sites {
		w.checks.checkSite(ctx, s)
	}
	w.checkNotifications()
	w.checkHistories(ctx)
	w.attackAlarms(ctx)
	w.finishActors(ctx)
	var rep *audit.Report
	err := w.timed("audit_verify", func() (err error) {
		rep, err = audit.Verify(ctx, w.store)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sim: verify audit chains: %w", err)
	}
	for _, b := range rep.Broken {
		w.Violation("audit_chain", "%v", b)
	}
	if rep.OK() {
		w.checks.ok()
	}
	return rep, nil
}

// checkNotifications: no notification lost (each parcel got every message
// its final state calls for).
func (w *World) checkNotifications() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := range w.parcels {
		p := &w.parcels[i]
		if p.state < pDeposited {
			continue
		}
		want := expectedNotes(p)
		if missing := want &^ p.notes; missing != 0 {
			w.Violation("notification_lost", "parcel %s (%s) never got %v", p.id, pstateNames[p.state], noteNames(missing))
			continue
		}
		w.checks.ok()
	}
}

// historyKinds are the parcel events whose order the audit history must show.
var historyKinds = map[parcelguard.EventKind]bool{
	parcelguard.EventParcelAnnounced: true, parcelguard.EventParcelReserved: true, parcelguard.EventParcelDeposited: true,
	parcelguard.EventParcelPickedUp: true, parcelguard.EventParcelExpired: true, parcelguard.EventParcelCollected: true,
	parcelguard.EventParcelReturned: true,
}

// expectedHistory is the sequence of parcel events a parcel in final model
// state st went through.
func expectedHistory(st pstate) []parcelguard.EventKind {
	path := []parcelguard.EventKind{parcelguard.EventParcelAnnounced, parcelguard.EventParcelReserved, parcelguard.EventParcelDeposited}
	switch st {
	case pAnnounced:
		return path[:1]
	case pReserved:
		return path[:2]
	case pDeposited:
		return path
	case pPickedUp:
		return append(path, parcelguard.EventParcelPickedUp)
	}
	path = append(path, parcelguard.EventParcelExpired)
	if st >= pCollected {
		path = append(path, parcelguard.EventParcelCollected)
	}
	if st == pReturned {
		path = append(path, parcelguard.EventParcelReturned)
	}
	return path
}

// checkHistories: every state change has its event. For every
// AuditSample-th parcel, the store's state must be the model's and its
// audit history must hold exactly the transitions the model saw, in order.
func (w *World) checkHistories(ctx context.Context) {
	for idx := 0; idx < len(w.parcels); idx += w.cfg.AuditSample {
		p := &w.parcels[idx]
		if p.state == pNew {
			continue
		}
		var x *parcelguard.Parcel
		var evs []*parcelguard.Event
		err := w.timed("check_history", func() (err error) {
			if x, err = w.svc.Parcel(ctx, w.operator, p.id.String()); err != nil {
				return err
			}
			evs, err = w.svc.ParcelEvents(ctx, w.operator, p.id.String())
			return err
		})
		if err != nil {
			w.Unexpected("history of "+p.id.String(), err)
			continue
		}
		if x.State != pstateNames[p.state] {
			w.Violation("parcel_state", "parcel %s is %s in the store, %s in the simulation", p.id, x.State, pstateNames[p.state])
		}
		var got []parcelguard.EventKind
		for _, e := range evs {
			if historyKinds[e.Kind] {
				got = append(got, e.Kind)
			}
		}
		if want := expectedHistory(p.state); !slices.Equal(got, want) {
			w.Violation("audit_history", "parcel %s: audit history %v, the simulation saw %v", p.id, got, want)
			continue
		}
		w.checks.ok()
	}
}

// attackAlarms finds, in the attacked sites' audit chains, the guessing
// alarms raised during each attack.
func (w *World) attackAlarms(ctx context.Context) {
	for _, a := range w.attacks {
		var after int64
		for {
			var page []*parcelguard.Event
			err := w.store.View(ctx, func(tx parcelguard.Tx) (err error) {
				page, err = tx.Events(ctx, parcelguard.EventFilter{Stream: parcelguard.SiteStream(a.site.id), AfterSeq: after, Limit: 1000})
				return err
			})
			if err != nil {
				w.Unexpected("read events of "+a.site.id, err)
				break
			}
			for _, e := range page {
				after = e.Seq
				if e.Kind != parcelguard.EventAlarmGuessing || e.At.Before(a.from) || !e.At.Before(a.to.Add(time.Minute)) {
					continue
				}
				a.alarms++
				if a.firstAlarm.IsZero() {
					a.firstAlarm = e.At
				}
			}
			if len(page) < 1000 {
				break
			}
		}
	}
}

// counterValue reads a Prometheus counter.
func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil || m.Counter == nil {
		return 0
	}
	return m.Counter.GetValue()
}
