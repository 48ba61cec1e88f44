package metrics

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Breakers is what the breaker metrics read: the global pause and the
// resting accounts as the process last saw them (campaign.Outage). Reading
// it costs no query, so a scrape cannot stall on the database.
type Breakers interface {
	// Paused reports whether sending is paused on every instance because
	// the API as a whole does not answer.
	Paused() (since time.Time, paused bool)
	// Outages counts the outages this process opened.
	Outages() int64
	// Probes counts the probes this process sent while paused.
	Probes() int64
	// RestingAccounts is how many accounts' circuit breakers are open,
	// across every instance.
	RestingAccounts() int
}

// RegisterBreakers registers the metrics that tell the two breakers apart:
// broadcaster_api_paused and broadcaster_api_outages_total for the global
// pause, broadcaster_accounts_resting for the per-account breaker. None has a
// w_id label: with thousands of accounts that would be both a cardinality
// and an exposure problem; the log names the resting accounts instead.
func RegisterBreakers(reg prometheus.Registerer, b Breakers) error {
	for _, c := range []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: namespace, Name: "api_paused",
			Help: "1 while sending is paused on every instance because the API as a whole does not answer (connection refused, DNS, TLS, timeouts, 5xx); 0 otherwise.",
		}, func() float64 {
			if _, paused := b.Paused(); paused {
				return 1
			}
			return 0
		}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: namespace, Name: "api_outages_total",
			Help: "Global pauses this process opened; summed over instances, each outage counts once.",
		}, func() float64 { return float64(b.Outages()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: namespace, Name: "api_probes_total",
			Help: "Probe sends this process made while sending was paused globally.",
		}, func() float64 { return float64(b.Probes()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: namespace, Name: "accounts_resting",
			Help: "Sending accounts whose circuit breaker rests them now (their own API answers kept failing), across every instance.",
		}, func() float64 { return float64(b.RestingAccounts()) }),
	} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("register breaker metrics: %w", err)
		}
	}
	return nil
}
