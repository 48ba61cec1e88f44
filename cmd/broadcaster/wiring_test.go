package main

import (
	"slices"
	"testing"

	"github.com/broadcaster/broadcaster/campaign"
	"github.com/broadcaster/broadcaster/internal/config"
	"github.com/broadcaster/broadcaster/sender"
)

// TestDefaultsHaveOneHome: the configuration's defaults, as the daemon wires
// them, are the defaults of the packages that use them. A default written
// again anywhere on the way (in config.Default, in the wiring) and later
// changed in only one place fails here; TestDefaultsMatchSpec keeps the
// values themselves those of SPEC §8.
func TestDefaultsHaveOneHome(t *testing.T) {
	a := &app{cfg: config.Default()}
	d := a.dispatchConfig()
	if d.Concurrency != campaign.DefaultConcurrency || sender.DefaultMaxConns != campaign.DefaultConcurrency {
		t.Errorf("concurrency %d, sender's pool %d; want campaign.DefaultConcurrency %d",
			d.Concurrency, sender.DefaultMaxConns, campaign.DefaultConcurrency)
	}
	if want := campaign.DefaultRetryPolicy(); d.Retry != want {
		t.Errorf("retry %+v, want campaign.DefaultRetryPolicy %+v", d.Retry, want)
	}
	if want := campaign.DefaultPacing(); d.Pacing != want {
		t.Errorf("pacing %+v, want campaign.DefaultPacing %+v", d.Pacing, want)
	}
	if d.PollInterval != campaign.DefaultPollInterval || a.cfg.Scheduler.MisfireGrace != campaign.DefaultMisfireGrace {
		t.Errorf("poll %v, misfire grace %v; want campaign's %v, %v",
			d.PollInterval, a.cfg.Scheduler.MisfireGrace, campaign.DefaultPollInterval, campaign.DefaultMisfireGrace)
	}
	if a.cfg.API.Timeout != sender.DefaultTimeout {
		t.Errorf("api.timeout %v, want sender.DefaultTimeout %v", a.cfg.API.Timeout, sender.DefaultTimeout)
	}
	if want := sender.DefaultRetryCodes(); !slices.Equal(a.cfg.Retry.Codes, want) {
		t.Errorf("retry.codes %v, want sender.DefaultRetryCodes %v", a.cfg.Retry.Codes, want)
	}
	if want := sender.DefaultTimeout + campaign.LeaseMargin; d.Lease != want || d.StopTimeout != want {
		t.Errorf("lease %v, stop timeout %v; want api.timeout + campaign.LeaseMargin = %v", d.Lease, d.StopTimeout, want)
	}
	o := a.outageConfig()
	want := campaign.OutageConfig{
		Failures:      campaign.DefaultOutageFailures,
		ProbeEvery:    campaign.DefaultProbeEvery,
		MaxProbeEvery: campaign.DefaultMaxProbeEvery,
		ProbeLease:    d.Lease,
		Refresh:       campaign.DefaultOutageRefresh,
		Accounts:      campaign.DefaultPacing(),
	}
	if o != want {
		t.Errorf("global pause %+v, want campaign's defaults %+v", o, want)
	}
}
