// Package metrics is broadcaster's observability surface: Prometheus metrics
// taken by decorating the domain's interfaces (campaign.Sender,
// campaign.DeliveryStore, campaign.RunStore), a collector that counts pending
// deliveries when scraped, a health check, and the HTTP server that serves
// /metrics and /healthz on http.listen.
//
// Every metric is registered on a registry the caller passes in, never on
// the client library's global one, so tests and several instances in one
// process each get their own.
package metrics

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/broadcaster/broadcaster/campaign"
)

// namespace prefixes every metric name, so broadcaster's series are easy to
// find next to other exporters'.
const namespace = "broadcaster"

// sendBuckets are the send-latency histogram's buckets, in seconds: from a
// fast API answer (10ms) to api.timeout's usual range (15–30s).
func sendBuckets() []float64 {
	return []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30}
}

// lagBuckets are the scheduler-lag histogram's buckets, in seconds: from a
// run created on a notification (well under a second) through a poll interval
// (5s) to a firing caught up within scheduler.misfire_grace (1h).
func lagBuckets() []float64 { return []float64{0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600} }

// Metrics holds broadcaster's instruments. Its methods wrap the domain's
// interfaces so that counting happens at the boundaries and the domain code
// knows nothing of Prometheus.
type Metrics struct {
	clock campaign.Clock

	attempts      *prometheus.CounterVec
	sendDuration  prometheus.Histogram
	inFlight      prometheus.Gauge
	deliveries    *prometheus.CounterVec
	runsCompleted prometheus.Counter
	runsCreated   prometheus.Counter
	schedulerLag  prometheus.Histogram
}

// New creates broadcaster's metrics and registers them on reg. clock times
// the scheduler lag (nil means the wall clock). It fails when reg already
// holds metrics of the same names.
func New(reg prometheus.Registerer, clock campaign.Clock) (*Metrics, error) {
	if clock == nil {
		clock = campaign.SystemClock{}
	}
	m := &Metrics{
		clock: clock,
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "send_attempts_total",
			Help: "sendApplet attempts by outcome (sent, retry, failed, ambiguous) and API code (none when no code was read).",
		}, []string{"outcome", "code"}),
		sendDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Name: "send_duration_seconds",
			Help:    "Duration of sendApplet attempts, as recorded in delivery_attempts.duration_ms.",
			Buckets: sendBuckets(),
		}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "sends_in_flight",
			Help: "sendApplet requests in flight in this process (at most workers.concurrency).",
		}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "deliveries_finished_total",
			Help: "Deliveries recorded by this process with a final status (sent, failed, unknown).",
		}, []string{"status"}),
		runsCompleted: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "runs_completed_total",
			Help: "Runs completed by results this process recorded.",
		}),
		runsCreated: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "runs_created_total",
			Help: "Runs created by this process's scheduler.",
		}),
		schedulerLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Name: "scheduler_lag_seconds",
			Help:    "Delay between a firing's scheduled time and the creation of its run.",
			Buckets: lagBuckets(),
		}),
	}
	// The final statuses exist from the start, so rate() and alerts see 0
	// rather than no series before the first result.
	for _, s := range []campaign.DeliveryStatus{campaign.DeliverySent, campaign.DeliveryFailed, campaign.DeliveryUnknown} {
		m.deliveries.WithLabelValues(string(s))
	}
	for _, c := range []prometheus.Collector{m.attempts, m.sendDuration, m.inFlight, m.deliveries,
		m.runsCompleted, m.runsCreated, m.schedulerLag} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	return m, nil
}

// NewRegistry returns a registry holding the Go runtime and process
// collectors (memory, goroutines, CPU, open files), which every service's
// dashboard expects next to its own metrics.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	// A fresh registry cannot hold these already: MustRegister cannot panic.
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// Sender returns s counting every attempt by outcome and code, timing it,
// and tracking how many are in flight.
func (m *Metrics) Sender(s campaign.Sender) campaign.Sender {
	return sender{next: s, m: m}
}

// sender is the decorator Sender returns.
type sender struct {
	next campaign.Sender
	m    *Metrics
}

// Send sends m through the wrapped sender and records the attempt.
func (s sender) Send(ctx context.Context, msg campaign.Message) campaign.Attempt {
	s.m.inFlight.Inc()
	defer s.m.inFlight.Dec() // deferred: the dispatcher survives a sender's panic
	started := time.Now()
	a := s.next.Send(ctx, msg)
	d := a.Duration
	if d <= 0 {
		d = time.Since(started)
	}
	s.m.sendDuration.Observe(d.Seconds())
	s.m.attempts.WithLabelValues(a.Outcome.String(), codeLabel(a.Code)).Inc()
	return a
}

// maxCodeLen bounds the API codes used as label values.
const maxCodeLen = 16

// codeLabel is the code label of an attempt: "none" when no code was read,
// "other" for anything that does not look like an API code, so that a
// misbehaving API cannot create unbounded series.
func codeLabel(code string) string {
	if code == "" {
		return "none"
	}
	if len(code) > maxCodeLen {
		return "other"
	}
	for _, r := range code {
		ok := r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-' || r == '_' || r == '.'
		if !ok {
			return "other"
		}
	}
	return code
}

// DeliveryStore returns s counting, after each successful Record, the
// results that ended their delivery (by status) and the runs completed.
// Other methods pass through. A Record that fails counts nothing: the
// dispatcher writes the batch again, and only that write counts.
func (m *Metrics) DeliveryStore(s campaign.DeliveryStore) campaign.DeliveryStore {
	return deliveryStore{DeliveryStore: s, m: m}
}

// deliveryStore is the decorator DeliveryStore returns.
type deliveryStore struct {
	campaign.DeliveryStore
	m *Metrics
}

// Record records results through the wrapped store and counts them.
func (s deliveryStore) Record(ctx context.Context, results []campaign.Result) ([]int64, error) {
	completed, err := s.DeliveryStore.Record(ctx, results)
	if err != nil {
		return completed, err
	}
	for _, r := range results {
		switch r.Status {
		case campaign.DeliverySent, campaign.DeliveryFailed, campaign.DeliveryUnknown:
			s.m.deliveries.WithLabelValues(string(r.Status)).Inc()
		}
	}
	s.m.runsCompleted.Add(float64(len(completed)))
	return completed, nil
}

// RunStore returns s counting the runs it creates and observing how late
// each was created after its scheduled time. Creations that fail, or that
// lose the race to another instance (campaign.ErrRunExists), count nothing.
// Other methods pass through.
func (m *Metrics) RunStore(s campaign.RunStore) campaign.RunStore {
	return runStore{RunStore: s, m: m}
}

// runStore is the decorator RunStore returns.
type runStore struct {
	campaign.RunStore
	m *Metrics
}

// CreateRun creates the run through the wrapped store and counts it.
func (s runStore) CreateRun(ctx context.Context, campaignID int64, scheduledFor time.Time) (campaign.Run, error) {
	run, err := s.RunStore.CreateRun(ctx, campaignID, scheduledFor)
	if err != nil {
		return run, err
	}
	s.m.runsCreated.Inc()
	at := run.ScheduledFor
	if at.IsZero() {
		at = scheduledFor
	}
	s.m.schedulerLag.Observe(max(s.m.clock.Now().Sub(at), 0).Seconds())
	return run, nil
}
