package campaign_test

import (
	"strings"
	"testing"
	"time"

	"github.com/broadcaster/broadcaster/campaign"
)

func TestPlanPrune(t *testing.T) {
	t.Parallel()
	month := func(y int, m time.Month) time.Time { return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC) }
	now := time.Date(2026, time.June, 15, 12, 0, 0, 0, time.UTC) // cutoff at 90d: 2026-03-17T12:00Z
	const olderThan = 90 * 24 * time.Hour
	pair := func(kind campaign.PartitionKind, from, to time.Time, open int, newest time.Time) campaign.Partition {
		return campaign.Partition{Deliveries: "d", Attempts: "a", Kind: kind, From: from, To: to, OpenRuns: open, NewestRun: newest}
	}
	legacyTo := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		part   campaign.Partition
		drop   bool
		reason string
	}{
		{"old month goes", pair(campaign.PartitionMonth, month(2026, 1), month(2026, 2), 0, time.Time{}), true, "range ends before 2026-03-17T12:00:00Z"},
		{"month ending just before the cutoff goes", pair(campaign.PartitionMonth, month(2026, 2), month(2026, 3), 0, time.Time{}), true, "range ends before"},
		{"month straddling the cutoff stays", pair(campaign.PartitionMonth, month(2026, 3), month(2026, 4), 0, time.Time{}), false, "holds runs created after the cutoff"},
		{"month ending exactly at the cutoff goes", pair(campaign.PartitionMonth, month(2026, 2), now.Add(-olderThan), 0, time.Time{}), true, "range ends before"},
		{"current month stays", pair(campaign.PartitionMonth, month(2026, 6), month(2026, 7), 3, time.Time{}), false, "after the cutoff"},
		{"old month with an open run stays", pair(campaign.PartitionMonth, month(2026, 1), month(2026, 2), 1, time.Time{}), false, "1 open run"},
		{"old month with open runs stays", pair(campaign.PartitionMonth, month(2026, 1), month(2026, 2), 4, time.Time{}), false, "4 open runs"},
		{"default never goes", pair(campaign.PartitionDefault, time.Time{}, time.Time{}, 0, time.Time{}), false, "never pruned"},
		{"old legacy goes", pair(campaign.PartitionLegacy, time.Time{}, legacyTo, 0, month(2025, 12)), true, "every run created before"},
		{"recent legacy stays", pair(campaign.PartitionLegacy, time.Time{}, legacyTo, 0, month(2026, 5)), false, "newest run created 2026-05-01T00:00:00Z"},
		{"empty legacy stays", pair(campaign.PartitionLegacy, time.Time{}, legacyTo, 0, time.Time{}), false, "empty"},
		{"old legacy with an open run stays", pair(campaign.PartitionLegacy, time.Time{}, legacyTo, 2, month(2025, 12)), false, "2 open runs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := campaign.PlanPrune([]campaign.Partition{tt.part}, now, olderThan)
			if len(got) != 1 {
				t.Fatalf("got %d verdicts", len(got))
			}
			if got[0].Drop != tt.drop || !strings.Contains(got[0].Reason, tt.reason) {
				t.Errorf("verdict = drop %v (%s), want drop %v (%s)", got[0].Drop, got[0].Reason, tt.drop, tt.reason)
			}
		})
	}
}

// Verdicts come back one per partition, in the order given (oldest first),
// so the command's table and the daemon's log follow the database's list.
func TestPlanPruneKeepsOrder(t *testing.T) {
	t.Parallel()
	parts := []campaign.Partition{
		{Deliveries: "deliveries_legacy", Kind: campaign.PartitionLegacy},
		{Deliveries: "deliveries_p2026_01", Kind: campaign.PartitionMonth, From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)},
		{Deliveries: "deliveries_default", Kind: campaign.PartitionDefault},
	}
	got := campaign.PlanPrune(parts, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), 30*24*time.Hour)
	var names []string
	for _, v := range got {
		names = append(names, v.Deliveries)
	}
	if strings.Join(names, ",") != "deliveries_legacy,deliveries_p2026_01,deliveries_default" {
		t.Errorf("order = %v", names)
	}
	if got[0].Drop || !got[1].Drop || got[2].Drop {
		t.Errorf("drops = %v %v %v, want false true false", got[0].Drop, got[1].Drop, got[2].Drop)
	}
}
