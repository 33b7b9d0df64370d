// Package metrics defines parcelguard's Prometheus metrics in one place, so
// names and labels stay consistent between the service and its transports.
package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parcelguard/parcelguard"
)

// Metrics holds every collector parcelguard exports.
type Metrics struct {
	Requests       *prometheus.CounterVec
	RequestSeconds *prometheus.HistogramVec
	TxSeconds      *prometheus.HistogramVec
	PickupAttempts *prometheus.CounterVec
	GrantLockouts  prometheus.Counter
	GuardAlarms    prometheus.Counter
	TimersDue      prometheus.Gauge
	TimersFired    *prometheus.CounterVec
}

// New creates the collectors and registers them with reg.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parcelguard_http_requests_total",
			Help: "HTTP requests by route pattern, method and status code.",
		}, []string{"route", "method", "status"}),
		RequestSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "parcelguard_http_request_seconds",
			Help:    "HTTP request latency by route pattern.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}, []string{"route"}),
		TxSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "parcelguard_store_tx_seconds",
			Help:    "Store transaction latency by kind (update, view) and outcome.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}, []string{"kind", "outcome"}),
		PickupAttempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parcelguard_pickup_attempts_total",
			Help: "Kiosk pickup attempts by outcome (ok, rejected, expired, locked, throttled).",
		}, []string{"outcome"}),
		GrantLockouts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parcelguard_grant_lockouts_total",
			Help: "Grants disabled after too many failed attempts.",
		}),
		GuardAlarms: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parcelguard_guard_alarms_total",
			Help: "Operator alarms raised by a locker's failure budget.",
		}),
		TimersDue: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "parcelguard_timers_due",
			Help: "Timers found due in the latest scheduler pass.",
		}),
		TimersFired: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parcelguard_timers_fired_total",
			Help: "Timers fired by kind.",
		}, []string{"kind"}),
	}
	reg.MustRegister(m.Requests, m.RequestSeconds, m.TxSeconds, m.PickupAttempts,
		m.GrantLockouts, m.GuardAlarms, m.TimersDue, m.TimersFired)
	return m
}

// Discard returns metrics registered nowhere, for tests and tools.
func Discard() *Metrics { return New(prometheus.NewRegistry()) }

// InstrumentStore wraps s so every transaction's latency is observed.
func InstrumentStore(s parcelguard.Store, m *Metrics) parcelguard.Store {
	return &instrumentedStore{Store: s, m: m}
}

type instrumentedStore struct {
	parcelguard.Store
	m *Metrics
}

func (s *instrumentedStore) Update(ctx context.Context, fn func(tx parcelguard.Tx) error) error {
	start := time.Now()
	err := s.Store.Update(ctx, fn)
	s.m.TxSeconds.WithLabelValues("update", outcome(err)).Observe(time.Since(start).Seconds())
	return err
}

func (s *instrumentedStore) View(ctx context.Context, fn func(tx parcelguard.Tx) error) error {
	start := time.Now()
	err := s.Store.View(ctx, fn)
	s.m.TxSeconds.WithLabelValues("view", outcome(err)).Observe(time.Since(start).Seconds())
	return err
}

func outcome(err error) string {
	if err == nil {
		return "ok"
	}
	return parcelguard.ErrorCode(err)
}
