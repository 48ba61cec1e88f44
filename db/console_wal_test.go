package db_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/broadcaster/broadcaster/campaign"
)

// TestConsoleIndexWAL (make console-cost) measures what the console's two
// indexes on deliveries (migration 0011) cost the sending path, in WAL and
// index bytes per delivery, for issue 9's budgets: one run of 20,000
// deliveries created, claimed and recorded as sent, with the indexes and
// again without them. It reports; it asserts nothing about the figures.
func TestConsoleIndexWAL(t *testing.T) {
	if os.Getenv("CONSOLE_COST") == "" {
		t.Skip("set CONSOLE_COST=1 to measure; see make console-cost")
	}
	const n = 20_000
	measure := func(drop string) (walPerDelivery, indexBytes float64) {
		f := newFixture(t)
		if drop != "" {
			f.exec(`DROP INDEX ` + drop)
		}
		recipients := make([]string, n)
		for i := range recipients {
			recipients[i] = fmt.Sprintf("wxid_%06d", i)
		}
		id := f.campaign(recipients)
		start := f.str(`SELECT pg_current_wal_insert_lsn()::text`)
		f.run(id)
		for {
			ds := f.claim(1000)
			if len(ds) == 0 {
				break
			}
			rs := make([]campaign.Result, len(ds))
			for i, d := range ds {
				rs[i] = campaign.Result{Delivery: d, Status: campaign.DeliverySent, Attempt: campaign.Attempt{
					Outcome: campaign.OutcomeSent, StartedAt: time.Now(), Duration: 100 * time.Millisecond, HTTPStatus: 200,
					Code: "1000", Response: `{"code":"1000"}`,
					Receipt: &campaign.Receipt{MsgID: int64(i + 1), NewMsgID: int64(i + 1), CreateTime: 1, WcID: d.WcID},
				}}
			}
			f.record(rs...)
		}
		wal := f.int64(`SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), $1::pg_lsn)::bigint`, start)
		idx := f.int64(`SELECT coalesce(sum(pg_relation_size(indexrelid)), 0)::bigint FROM pg_index
			WHERE indexrelid::regclass::text IN ('deliveries_wc_id_idx', 'deliveries_w_id_sent_idx')`)
		return float64(wal) / n, float64(idx) / n
	}
	fmt.Printf("| console indexes | WAL per delivery | their bytes per delivery |\n|---|---|---|\n")
	walWithout, _ := measure("deliveries_wc_id_idx, deliveries_w_id_sent_idx")
	for _, c := range []struct{ name, drop string }{
		{"both", ""},
		{"deliveries_wc_id_idx only", "deliveries_w_id_sent_idx"},
		{"deliveries_w_id_sent_idx only", "deliveries_wc_id_idx"},
	} {
		wal, idx := measure(c.drop)
		fmt.Printf("| %s | %.0f B (%+.0f B, %+.0f%%) | %.0f B |\n", c.name, wal, wal-walWithout, (wal-walWithout)/walWithout*100, idx)
	}
	fmt.Printf("| none | %.0f B | 0 B |\n", walWithout)
}
