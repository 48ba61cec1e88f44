package metrics_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/broadcaster/broadcaster/campaign"
	"github.com/broadcaster/broadcaster/internal/metrics"
)

// breakers is a fixed metrics.Breakers.
type breakers struct {
	paused          bool
	outages, probes int64
	resting         int
}

func (b breakers) Paused() (time.Time, bool) { return time.Time{}, b.paused }
func (b breakers) Outages() int64            { return b.outages }
func (b breakers) Probes() int64             { return b.probes }
func (b breakers) RestingAccounts() int      { return b.resting }

func TestBreakerMetricsTellTheTwoBreakersApart(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		b    breakers
		want string
	}{
		{"API paused", breakers{paused: true, outages: 2, probes: 7}, `
# HELP broadcaster_accounts_resting Sending accounts whose circuit breaker rests them now (their own API answers kept failing), across every instance.
# TYPE broadcaster_accounts_resting gauge
broadcaster_accounts_resting 0
# HELP broadcaster_api_outages_total Global pauses this process opened; summed over instances, each outage counts once.
# TYPE broadcaster_api_outages_total counter
broadcaster_api_outages_total 2
# HELP broadcaster_api_paused 1 while sending is paused on every instance because the API as a whole does not answer (connection refused, DNS, TLS, timeouts, 5xx); 0 otherwise.
# TYPE broadcaster_api_paused gauge
broadcaster_api_paused 1
# HELP broadcaster_api_probes_total Probe sends this process made while sending was paused globally.
# TYPE broadcaster_api_probes_total counter
broadcaster_api_probes_total 7
`},
		{"accounts resting", breakers{resting: 3}, `
# HELP broadcaster_accounts_resting Sending accounts whose circuit breaker rests them now (their own API answers kept failing), across every instance.
# TYPE broadcaster_accounts_resting gauge
broadcaster_accounts_resting 3
# HELP broadcaster_api_outages_total Global pauses this process opened; summed over instances, each outage counts once.
# TYPE broadcaster_api_outages_total counter
broadcaster_api_outages_total 0
# HELP broadcaster_api_paused 1 while sending is paused on every instance because the API as a whole does not answer (connection refused, DNS, TLS, timeouts, 5xx); 0 otherwise.
# TYPE broadcaster_api_paused gauge
broadcaster_api_paused 0
# HELP broadcaster_api_probes_total Probe sends this process made while sending was paused globally.
# TYPE broadcaster_api_probes_total counter
broadcaster_api_probes_total 0
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reg := prometheus.NewRegistry()
			if err := metrics.RegisterBreakers(reg, tt.b); err != nil {
				t.Fatal(err)
			}
			expect(t, reg, tt.want)
			if err := metrics.RegisterBreakers(reg, tt.b); err == nil {
				t.Error("registered twice without an error")
			}
		})
	}
}

var _ metrics.Breakers = (*campaign.Outage)(nil)
