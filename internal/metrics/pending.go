package metrics

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// DefaultPendingTimeout bounds the pending count of one scrape when the
// caller gives no timeout: a scrape must answer quickly even when the
// database does not.
const DefaultPendingTimeout = 2 * time.Second

// PendingCollector exports broadcaster_pending_deliveries, the deliveries
// of active campaigns left to send (pending or sending), counted in the
// database at each scrape. Counting on demand needs no polling goroutine and
// is never stale; the figure covers every instance sharing the database.
type PendingCollector struct {
	count   func(context.Context) (int64, error)
	timeout time.Duration
	desc    *prometheus.Desc
}

// NewPendingCollector returns a collector that calls count (e.g.
// (*db.Store).PendingCount) at each scrape, bounded by timeout (0 or less
// means DefaultPendingTimeout). Register it on the same registry as New's
// metrics.
func NewPendingCollector(count func(context.Context) (int64, error), timeout time.Duration) *PendingCollector {
	if timeout <= 0 {
		timeout = DefaultPendingTimeout
	}
	return &PendingCollector{
		count:   count,
		timeout: timeout,
		desc: prometheus.NewDesc(namespace+"_pending_deliveries",
			"Deliveries of active campaigns pending or sending, in the whole database, counted at scrape time.",
			nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *PendingCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector. When the count fails (the
// database is down or slow), it reports an invalid metric rather than a
// wrong value: the registry returns the error with the other metrics, and
// Server still serves those and logs the error.
func (c *PendingCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	n, err := c.count(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, fmt.Errorf("pending deliveries: %w", err))
		return
	}
	m, err := prometheus.NewConstMetric(c.desc, prometheus.GaugeValue, float64(n))
	if err != nil {
		m = prometheus.NewInvalidMetric(c.desc, err)
	}
	ch <- m
}
