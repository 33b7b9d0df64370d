package metrics

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parcelguard/parcelguard"
)

const (
	// backlogTimeout bounds the store read behind one scrape.
	backlogTimeout = 5 * time.Second
	// backlogMaxAge is how long one reading serves further scrapes:
	// /metrics needs no key, so however often it is asked, the store is
	// read at most once a second.
	backlogMaxAge = time.Second
)

// RegisterOutbox exports the notification outbox's backlog, read from the
// store when scraped (at most once a second): how many messages are due
// and not yet sent, and
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

	// mu serialises readings, so scrapes at once share one; last is the
	// latest reading, taken at lastAt (zero: none yet).
	mu     sync.Mutex
	last   parcelguard.MessageBacklog
	lastAt time.Time
}

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- outboxDueDesc
	ch <- outboxWaitDesc
}

// Collect reads the backlog; if the store cannot answer, the two series
// are left out of the scrape (their absence is what to alert on) rather
// than failing the whole scrape.
func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	b, now, err := c.read()
	if err != nil {
		return
	}
	wait := 0.0
	if !b.OldestDue.IsZero() {
		wait = max(0, now.Sub(b.OldestDue).Seconds())
	}
	ch <- prometheus.MustNewConstMetric(outboxDueDesc, prometheus.GaugeValue, float64(b.Due))
	ch <- prometheus.MustNewConstMetric(outboxWaitDesc, prometheus.GaugeValue, wait)
}

// read returns the backlog and when it was read, reading the store only if
// the last reading is backlogMaxAge old or older.
func (c *outboxCollector) read() (parcelguard.MessageBacklog, time.Time, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.clock.Now()
	if !c.lastAt.IsZero() && now.Sub(c.lastAt) < backlogMaxAge {
		return c.last, c.lastAt, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), backlogTimeout)
	defer cancel()
	var b parcelguard.MessageBacklog
	if err := c.store.View(ctx, func(tx parcelguard.Tx) (err error) {
		b, err = tx.MessageBacklog(ctx, now)
		return err
	}); err != nil {
		return parcelguard.MessageBacklog{}, time.Time{}, err
	}
	c.last, c.lastAt = b, now
	return b, now, nil
}
