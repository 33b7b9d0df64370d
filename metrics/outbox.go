package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parcelguard/parcelguard"
)

// backlogTimeout bounds the store read behind one scrape.
const backlogTimeout = 5 * time.Second

// RegisterOutbox exports the notification outbox's backlog, read from the
// store at each scrape: how many messages are due and not yet sent, and
// how long the longest-waiting of them has waited. The first grows and
// the second climbs when a gateway is down or the dispatcher falls behind,
// which the counters of messages sent would show only as a slowdown.
func RegisterOutbox(reg prometheus.Registerer, store parcelguard.Store, clock parcelguard.Clock) {
	reg.MustRegister(&outboxCollector{store: store, clock: clock})
}

var (
	outboxDueDesc = prometheus.NewDesc("parcelguard_outbox_due_messages",
		"Notifications due and not yet sent or given up.", nil, nil)
	outboxWaitDesc = prometheus.NewDesc("parcelguard_outbox_oldest_due_seconds",
		"How long the longest-waiting due notification has waited (0 when none is due).", nil, nil)
)

type outboxCollector struct {
	store parcelguard.Store
	clock parcelguard.Clock
}

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- outboxDueDesc
	ch <- outboxWaitDesc
}

// Collect reads the backlog; if the store cannot answer, the two series
// are left out of the scrape (their absence is what to alert on) rather
// than failing the whole scrape.
func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), backlogTimeout)
	defer cancel()
	now := c.clock.Now()
	var b parcelguard.MessageBacklog
	if err := c.store.View(ctx, func(tx parcelguard.Tx) (err error) {
		b, err = tx.MessageBacklog(ctx, now)
		return err
	}); err != nil {
		return
	}
	wait := 0.0
	if !b.OldestDue.IsZero() {
		wait = max(0, now.Sub(b.OldestDue).Seconds())
	}
	ch <- prometheus.MustNewConstMetric(outboxDueDesc, prometheus.GaugeValue, float64(b.Due))
	ch <- prometheus.MustNewConstMetric(outboxWaitDesc, prometheus.GaugeValue, wait)
}
