package metrics_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/broadcaster/broadcaster/campaign"
	"github.com/broadcaster/broadcaster/campaign/campaigntest"
	"github.com/broadcaster/broadcaster/internal/metrics"
)

// metricsT0 is where the tests' clocks start.
var metricsT0 = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

func newMetrics(t *testing.T, clock campaign.Clock) (*metrics.Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg, clock)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m, reg
}

// expect compares the named metrics of reg with the exposition text want
// (HELP and TYPE lines included).
func expect(t *testing.T, reg prometheus.Gatherer, want string, names ...string) {
	t.Helper()
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
}

// senderFunc adapts a function to campaign.Sender.
type senderFunc func(context.Context, campaign.Message) campaign.Attempt

func (f senderFunc) Send(ctx context.Context, m campaign.Message) campaign.Attempt { return f(ctx, m) }

func TestSenderCountsAttemptsByOutcomeAndCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		attempt campaign.Attempt
		outcome string
		code    string
	}{
		{"sent", campaign.Attempt{Outcome: campaign.OutcomeSent, Code: "1000"}, "sent", "1000"},
		{"retry code", campaign.Attempt{Outcome: campaign.OutcomeRetry, Code: "1001"}, "retry", "1001"},
		{"no code read", campaign.Attempt{Outcome: campaign.OutcomeRetry, HTTPStatus: 502}, "retry", "none"},
		{"ambiguous", campaign.Attempt{Outcome: campaign.OutcomeAmbiguous}, "ambiguous", "none"},
		{"refused", campaign.Attempt{Outcome: campaign.OutcomeFailed, Code: "4003"}, "failed", "4003"},
		{"code with spaces", campaign.Attempt{Outcome: campaign.OutcomeFailed, Code: "bad code"}, "failed", "other"},
		{"code too long", campaign.Attempt{Outcome: campaign.OutcomeFailed, Code: strings.Repeat("9", 17)}, "failed", "other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, reg := newMetrics(t, nil)
			s := m.Sender(senderFunc(func(context.Context, campaign.Message) campaign.Attempt { return tt.attempt }))
			if got := s.Send(context.Background(), campaign.Message{WcID: "wxid_a"}); got.Outcome != tt.attempt.Outcome || got.Code != tt.attempt.Code {
				t.Errorf("Send returned %+v, want the wrapped sender's %+v", got, tt.attempt)
			}
			expect(t, reg, `
# HELP broadcaster_send_attempts_total sendApplet attempts by outcome (sent, retry, failed, ambiguous) and API code (none when no code was read).
# TYPE broadcaster_send_attempts_total counter
broadcaster_send_attempts_total{code="`+tt.code+`",outcome="`+tt.outcome+`"} 1
`, "broadcaster_send_attempts_total")
		})
	}
}

func TestSenderObservesLatency(t *testing.T) {
	t.Parallel()
	m, reg := newMetrics(t, nil)
	durations := []time.Duration{20 * time.Millisecond, 200 * time.Millisecond, 40 * time.Second}
	for _, d := range durations {
		s := m.Sender(senderFunc(func(context.Context, campaign.Message) campaign.Attempt {
			return campaign.Attempt{Outcome: campaign.OutcomeSent, Code: "1000", Duration: d}
		}))
		s.Send(context.Background(), campaign.Message{})
	}
	expect(t, reg, `
# HELP broadcaster_send_duration_seconds Duration of sendApplet attempts, as recorded in delivery_attempts.duration_ms.
# TYPE broadcaster_send_duration_seconds histogram
broadcaster_send_duration_seconds_bucket{le="0.01"} 0
broadcaster_send_duration_seconds_bucket{le="0.025"} 1
broadcaster_send_duration_seconds_bucket{le="0.05"} 1
broadcaster_send_duration_seconds_bucket{le="0.1"} 1
broadcaster_send_duration_seconds_bucket{le="0.25"} 2
broadcaster_send_duration_seconds_bucket{le="0.5"} 2
broadcaster_send_duration_seconds_bucket{le="1"} 2
broadcaster_send_duration_seconds_bucket{le="2.5"} 2
broadcaster_send_duration_seconds_bucket{le="5"} 2
broadcaster_send_duration_seconds_bucket{le="10"} 2
broadcaster_send_duration_seconds_bucket{le="15"} 2
broadcaster_send_duration_seconds_bucket{le="30"} 2
broadcaster_send_duration_seconds_bucket{le="+Inf"} 3
broadcaster_send_duration_seconds_sum 40.22
broadcaster_send_duration_seconds_count 3
`, "broadcaster_send_duration_seconds")
}

func TestSenderTracksRequestsInFlight(t *testing.T) {
	t.Parallel()
	m, reg := newMetrics(t, nil)
	entered, release := make(chan struct{}), make(chan struct{})
	s := m.Sender(senderFunc(func(context.Context, campaign.Message) campaign.Attempt {
		entered <- struct{}{}
		<-release
		return campaign.Attempt{Outcome: campaign.OutcomeSent, Code: "1000", Duration: time.Millisecond}
	}))
	const n = 3
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { s.Send(context.Background(), campaign.Message{}) })
	}
	for range n {
		<-entered
	}
	inFlight := func(v string) string {
		return `
# HELP broadcaster_sends_in_flight sendApplet requests in flight in this process (at most workers.concurrency).
# TYPE broadcaster_sends_in_flight gauge
broadcaster_sends_in_flight ` + v + "\n"
	}
	expect(t, reg, inFlight("3"), "broadcaster_sends_in_flight")
	close(release)
	wg.Wait()
	expect(t, reg, inFlight("0"), "broadcaster_sends_in_flight")
}

func TestSenderReleasesInFlightOnPanic(t *testing.T) {
	t.Parallel()
	m, reg := newMetrics(t, nil)
	s := m.Sender(senderFunc(func(context.Context, campaign.Message) campaign.Attempt { panic("boom") }))
	func() {
		defer func() { _ = recover() }() // the dispatcher recovers a sender's panic likewise
		s.Send(context.Background(), campaign.Message{})
	}()
	expect(t, reg, `
# HELP broadcaster_sends_in_flight sendApplet requests in flight in this process (at most workers.concurrency).
# TYPE broadcaster_sends_in_flight gauge
broadcaster_sends_in_flight 0
`, "broadcaster_sends_in_flight")
}

// fakeDeliveryStore records nothing; Record answers what the test says.
type fakeDeliveryStore struct {
	campaign.DeliveryStore // nil: methods not overridden must not be called
	completed              []int64
	err                    error
	calls                  int
}

func (s *fakeDeliveryStore) Record(context.Context, []campaign.Result) ([]int64, error) {
	s.calls++
	return s.completed, s.err
}

func (s *fakeDeliveryStore) OpenTemplates(context.Context, []int64) ([]campaign.RunTemplate, error) {
	return []campaign.RunTemplate{{RunID: 42}}, nil
}

func results(statuses ...campaign.DeliveryStatus) []campaign.Result {
	rs := make([]campaign.Result, len(statuses))
	for i, s := range statuses {
		rs[i] = campaign.Result{Delivery: campaign.Delivery{ID: int64(i + 1)}, Status: s}
	}
	return rs
}

func TestDeliveryStoreCountsFinalStatusesAndCompletedRuns(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                  string
		results               []campaign.Result
		completed             []int64
		err                   error
		sent, failed, unknown string
		runsCompleted         string
	}{
		{
			name: "mixed batch completing two runs",
			results: results(campaign.DeliverySent, campaign.DeliverySent, campaign.DeliveryFailed,
				campaign.DeliveryUnknown, campaign.DeliveryPending),
			completed: []int64{7, 9},
			sent:      "2", failed: "1", unknown: "1", runsCompleted: "2",
		},
		{
			name:    "retries only",
			results: results(campaign.DeliveryPending, campaign.DeliveryPending),
			sent:    "0", failed: "0", unknown: "0", runsCompleted: "0",
		},
		{
			name:      "failed write counts nothing",
			results:   results(campaign.DeliverySent, campaign.DeliveryFailed),
			completed: []int64{3},
			err:       errors.New("connection refused"),
			sent:      "0", failed: "0", unknown: "0", runsCompleted: "0",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, reg := newMetrics(t, nil)
			inner := &fakeDeliveryStore{completed: tt.completed, err: tt.err}
			s := m.DeliveryStore(inner)
			completed, err := s.Record(context.Background(), tt.results)
			if !errors.Is(err, tt.err) || len(completed) != len(tt.completed) || inner.calls != 1 {
				t.Errorf("Record = %v, %v after %d calls; want the wrapped store's %v, %v after 1",
					completed, err, inner.calls, tt.completed, tt.err)
			}
			expect(t, reg, `
# HELP broadcaster_deliveries_finished_total Deliveries recorded by this process with a final status (sent, failed, unknown).
# TYPE broadcaster_deliveries_finished_total counter
broadcaster_deliveries_finished_total{status="failed"} `+tt.failed+`
broadcaster_deliveries_finished_total{status="sent"} `+tt.sent+`
broadcaster_deliveries_finished_total{status="unknown"} `+tt.unknown+`
# HELP broadcaster_runs_completed_total Runs completed by results this process recorded.
# TYPE broadcaster_runs_completed_total counter
broadcaster_runs_completed_total `+tt.runsCompleted+`
`, "broadcaster_deliveries_finished_total", "broadcaster_runs_completed_total")
		})
	}
}

func TestDeliveryStorePassesOtherMethodsThrough(t *testing.T) {
	t.Parallel()
	m, _ := newMetrics(t, nil)
	rts, err := m.DeliveryStore(&fakeDeliveryStore{}).OpenTemplates(context.Background(), nil)
	if err != nil || len(rts) != 1 || rts[0].RunID != 42 {
		t.Errorf("OpenTemplates = %+v, %v; want the wrapped store's", rts, err)
	}
}

// fakeRunStore creates runs scheduled when asked, or fails with err.
type fakeRunStore struct {
	campaign.RunStore
	err error
}

func (s *fakeRunStore) CreateRun(_ context.Context, campaignID int64, at time.Time) (campaign.Run, error) {
	if s.err != nil {
		return campaign.Run{}, s.err
	}
	return campaign.Run{ID: 1, CampaignID: campaignID, ScheduledFor: at, Status: campaign.RunPending}, nil
}

func TestRunStoreCountsCreatedRunsAndLag(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		err          error
		scheduledAgo time.Duration
		created      string
		lagCount     uint64
		lagSum       float64
	}{
		{name: "created 3s late", scheduledAgo: 3 * time.Second, created: "1", lagCount: 1, lagSum: 3},
		{name: "scheduled ahead counts as no lag", scheduledAgo: -time.Second, created: "1", lagCount: 1, lagSum: 0},
		{name: "lost the race", err: campaign.ErrRunExists, created: "0"},
		{name: "database error", err: errors.New("boom"), created: "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := campaigntest.NewClock(metricsT0)
			m, reg := newMetrics(t, clock)
			s := m.RunStore(&fakeRunStore{err: tt.err})
			_, err := s.CreateRun(context.Background(), 5, clock.Now().Add(-tt.scheduledAgo))
			if !errors.Is(err, tt.err) {
				t.Fatalf("CreateRun error = %v, want %v", err, tt.err)
			}
			expect(t, reg, `
# HELP broadcaster_runs_created_total Runs created by this process's scheduler.
# TYPE broadcaster_runs_created_total counter
broadcaster_runs_created_total `+tt.created+"\n", "broadcaster_runs_created_total")
			count, sum := histogram(t, reg, "broadcaster_scheduler_lag_seconds")
			if count != tt.lagCount || sum != tt.lagSum {
				t.Errorf("scheduler lag: count %d, sum %v; want %d, %v", count, sum, tt.lagCount, tt.lagSum)
			}
		})
	}
}

// histogram returns the sample count and sum of the named histogram of reg.
func histogram(t *testing.T, reg *prometheus.Registry, name string) (count uint64, sum float64) {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, f := range families {
		if f.GetName() == name {
			for _, mt := range f.GetMetric() {
				count += mt.GetHistogram().GetSampleCount()
				sum += mt.GetHistogram().GetSampleSum()
			}
		}
	}
	return count, sum
}

func TestNewRejectsASecondRegistration(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	if _, err := metrics.New(reg, nil); err != nil {
		t.Fatalf("first New: %v", err)
	}
	var already prometheus.AlreadyRegisteredError
	if _, err := metrics.New(reg, nil); !errors.As(err, &already) {
		t.Errorf("second New on one registry: %v, want AlreadyRegisteredError", err)
	}
}

func TestNewRegistryHasRuntimeMetrics(t *testing.T) {
	t.Parallel()
	reg := metrics.NewRegistry()
	if _, err := metrics.New(reg, nil); err != nil {
		t.Fatalf("New: %v", err)
	}
	n, err := testutil.GatherAndCount(reg, "go_goroutines", "broadcaster_runs_created_total")
	if err != nil || n != 2 {
		t.Errorf("GatherAndCount = %d, %v; want go_goroutines and broadcaster_runs_created_total", n, err)
	}
}
