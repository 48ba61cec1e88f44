package metrics_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/broadcaster/broadcaster/internal/metrics"
)

func TestPendingCollector(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		count   int64
		err     error
		want    string // exposition text; "" when the scrape must fail
		wantErr string
	}{
		{name: "counted", count: 1234, want: `
# HELP broadcaster_pending_deliveries Deliveries of active campaigns pending or sending, in the whole database, counted at scrape time.
# TYPE broadcaster_pending_deliveries gauge
broadcaster_pending_deliveries 1234
`},
		{name: "database down", err: errors.New("connection refused"),
			wantErr: "pending deliveries: connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var deadline time.Duration
			c := metrics.NewPendingCollector(func(ctx context.Context) (int64, error) {
				if d, ok := ctx.Deadline(); ok {
					deadline = time.Until(d)
				}
				return tt.count, tt.err
			}, 300*time.Millisecond)
			reg := prometheus.NewRegistry()
			reg.MustRegister(c)
			err := testutil.GatherAndCompare(reg, strings.NewReader(tt.want), "broadcaster_pending_deliveries")
			switch {
			case tt.wantErr == "" && err != nil:
				t.Error(err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("gather = %v, want an error with %q", err, tt.wantErr)
			}
			if deadline <= 0 || deadline > 300*time.Millisecond {
				t.Errorf("count ran with %v left, want a deadline within the 300ms timeout", deadline)
			}
		})
	}
}
