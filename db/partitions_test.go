package db_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/sourcegraph/conc/pool"

	"github.com/broadcaster/broadcaster/campaign"
	"github.com/broadcaster/broadcaster/db"
)

// summary is a run's row of campaign_run_summary, as text.
func (f *fixture) summary(runID int64) string {
	f.t.Helper()
	return f.str(`SELECT ROW(run_id, campaign_id, campaign_name, w_id, scheduled_for, status, total, sent, failed,
		unknown, pending, skipped, attempts, success_rate, started_at, finished_at)::text
		FROM campaign_run_summary WHERE run_id = $1`, runID)
}

// counted is what campaign_run_summary's counts are for a run, counted from
// its deliveries whatever totals are stored.
func (f *fixture) counted(runID int64) string {
	f.t.Helper()
	return f.str(`SELECT ROW(count(*), count(*) FILTER (WHERE status = 'sent'), count(*) FILTER (WHERE status = 'failed'),
		count(*) FILTER (WHERE status = 'unknown'), count(*) FILTER (WHERE status IN ('pending', 'sending')),
		count(*) FILTER (WHERE status = 'skipped'), coalesce(sum(attempts), 0))::text
		FROM deliveries WHERE run_id = $1`, runID)
}

// stored is the totals stored on a run, as counted formats them; "(,,,,,,)"
// when none are.
func (f *fixture) stored(runID int64) string {
	f.t.Helper()
	return f.str(`SELECT ROW(total, sent, failed, unknown, pending, skipped, attempts)::text FROM campaign_runs WHERE id = $1`, runID)
}

func sentResult(d campaign.Delivery) campaign.Result {
	return campaign.Result{Delivery: d, Status: campaign.DeliverySent, Attempt: campaign.Attempt{
		Outcome: campaign.OutcomeSent, StartedAt: time.Now(), Code: "1000", Receipt: &campaign.Receipt{MsgID: 1, NewMsgID: 2}}}
}

func wantSQLState(t *testing.T, err error, code string) {
	t.Helper()
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != code {
		t.Fatalf("error = %v, want SQLSTATE %s", err, code)
	}
}

// A database of schema version 5 with sent, pending and attempted deliveries
// migrates in place: its rows stay in the legacy partition and report the
// same, new runs go to the month's partition, (run_id, wc_id) stays unique
// across the parent, and the legacy run's pending delivery is still claimed
// and recorded.
func TestMigrationAttachesTheOldTablesAsTheLegacyPartition(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	conn, url := emptyDatabase(t)
	if err := db.MigrateTo(ctx, conn, 5); err != nil {
		t.Fatal(err)
	}
	pl, err := db.Open(ctx, url, 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pl.Close)
	f := &fixture{t: t, ctx: ctx, pool: pl, store: db.NewStore(pl, "test:1")}
	// As the release of version 5 wrote them.
	done := f.int64(`WITH c AS (INSERT INTO campaigns (name, w_id) VALUES ('done', 'w1') RETURNING id),
		r AS (INSERT INTO campaign_runs (campaign_id, scheduled_for, status) SELECT id, now(), 'completed' FROM c RETURNING id, campaign_id),
		d AS (INSERT INTO deliveries (run_id, campaign_id, wc_id, status, attempts)
		      SELECT r.id, r.campaign_id, x.wc, x.st, x.n FROM r, (VALUES ('a', 'sent', 1), ('b', 'failed', 2), ('c', 'skipped', 0)) x (wc, st, n)
		      RETURNING id, attempts)
		SELECT id FROM r`)
	f.exec(`INSERT INTO delivery_attempts (delivery_id, attempt, started_at)
		SELECT d.id, g, now() FROM deliveries d, generate_series(1, d.attempts) g`)
	open := f.campaign([]string{"p"})
	openRun := f.int64(`INSERT INTO campaign_runs (campaign_id, scheduled_for, status) VALUES ($1, now(), 'running') RETURNING id`, open)
	f.exec(`INSERT INTO deliveries (run_id, campaign_id, wc_id) VALUES ($1, $2, 'p')`, openRun, open)
	before := f.summary(done)

	if err := db.Migrate(ctx, conn); err != nil {
		t.Fatal(err)
	}
	if n := f.int64(`SELECT count(*) FROM deliveries_legacy`); n != 4 {
		t.Errorf("legacy partition holds %d deliveries, want 4", n)
	}
	if n := f.int64(`SELECT count(*) FROM delivery_attempts_legacy`); n != 3 {
		t.Errorf("legacy partition holds %d attempts, want 3", n)
	}
	if after := f.summary(done); after != before {
		t.Errorf("summary of a run from before:\n%s\nafter the upgrade:\n%s", before, after)
	}
	if n := f.int64(`SELECT count(*) FROM deliveries_id_seq`); n != 1 {
		t.Errorf("the id sequence is gone: %d", n)
	}
	if s := f.str(`SELECT d.refobjid::regclass::text FROM pg_depend d
		WHERE d.objid = 'deliveries_id_seq'::regclass AND d.deptype = 'a'`); s != "deliveries" {
		t.Errorf("deliveries_id_seq is owned by %s, want the parent (dropping the legacy partition would drop it)", s)
	}

	// The legacy run's delivery is claimed with no partition key and recorded.
	ds := f.claim(10)
	if len(ds) != 1 || ds[0].WcID != "p" || !ds[0].RunCreatedAt.IsZero() {
		t.Fatalf("claimed %+v, want the legacy delivery p with a zero RunCreatedAt", ds)
	}
	if runs := f.record(sentResult(ds[0])); len(runs) != 1 || runs[0] != openRun {
		t.Errorf("completed %v, want the legacy run %d", runs, openRun)
	}
	if s, c := f.stored(openRun), f.counted(openRun); s != c {
		t.Errorf("legacy run's stored totals %s, counted %s", s, c)
	}

	// A new run goes to the month's partition, and stays unique.
	run := f.run(f.campaign([]string{"x", "y"}))
	month := "deliveries_p" + f.now().UTC().Format("2006_01")
	if s := f.str(`SELECT string_agg(DISTINCT tableoid::regclass::text, ',') FROM deliveries WHERE run_id = $1`, run.ID); s != month {
		t.Errorf("the new run's deliveries are in %s, want %s", s, month)
	}
	_, err = f.pool.Exec(ctx, `INSERT INTO deliveries (run_id, campaign_id, wc_id, run_created_at)
		SELECT run_id, campaign_id, wc_id, run_created_at FROM deliveries WHERE run_id = $1 LIMIT 1`, run.ID)
	wantSQLState(t, err, pgerrcode.UniqueViolation)
	ds = f.claim(10)
	if len(ds) != 2 || ds[0].RunCreatedAt.IsZero() {
		t.Fatalf("claimed %+v, want the new run's two deliveries with their partition key", ds)
	}
	f.record(sentResult(ds[0]), sentResult(ds[1]))
	f.record(sentResult(ds[0])) // again, as after a failed commit: nothing twice
	if n := f.int64(`SELECT count(*) FROM delivery_attempts WHERE run_created_at = $1`, ds[0].RunCreatedAt); n != 2 {
		t.Errorf("%d attempts in the month's partition, want 2", n)
	}
}

// Several instances ensuring partitions at once create each month once; a
// later call creates nothing.
func TestEnsurePartitionsIsIdempotentAndConcurrent(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	at := time.Date(2031, 3, 15, 12, 0, 0, 0, time.UTC)
	var created [4]int
	p := pool.New().WithErrors()
	for i := range created {
		p.Go(func() (err error) {
			created[i], err = f.store.EnsurePartitions(f.ctx, at, 2)
			return err
		})
	}
	if err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	if sum := created[0] + created[1] + created[2] + created[3]; sum != 3 {
		t.Errorf("concurrent calls created %v months, want 3 in all", created)
	}
	if n, err := f.store.EnsurePartitions(f.ctx, at, 2); err != nil || n != 0 {
		t.Errorf("again: %d, %v; want 0, nil", n, err)
	}
	ps, err := f.store.Partitions(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range ps {
		if p.From.Year() == 2031 {
			names = append(names, p.Deliveries+"|"+p.Attempts+"|"+p.From.UTC().Format(time.DateOnly)+"|"+p.To.UTC().Format(time.DateOnly))
		}
	}
	want := []string{
		"deliveries_p2031_03|delivery_attempts_p2031_03|2031-03-01|2031-04-01",
		"deliveries_p2031_04|delivery_attempts_p2031_04|2031-04-01|2031-05-01",
		"deliveries_p2031_05|delivery_attempts_p2031_05|2031-05-01|2031-06-01",
	}
	if strings.Join(names, "\n") != strings.Join(want, "\n") {
		t.Errorf("partitions of 2031:\n%s\nwant:\n%s", strings.Join(names, "\n"), strings.Join(want, "\n"))
	}
	if last := ps[len(ps)-1]; last.Kind != campaign.PartitionDefault || last.Deliveries != "deliveries_default" {
		t.Errorf("last partition = %+v, want the default", last)
	}
}

// Rows of a month without a partition wait in the DEFAULT partition (check
// warns), and move to the month's partition when it is created.
func TestEnsurePartitionsMovesRowsOutOfTheDefault(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id := f.campaign([]string{"a"})
	run := f.int64(`INSERT INTO campaign_runs (campaign_id, scheduled_for, created_at) VALUES ($1, now(), '2031-06-10 08:00+00') RETURNING id`, id)
	f.exec(`INSERT INTO deliveries (run_id, campaign_id, wc_id, run_created_at) SELECT id, campaign_id, 'a', created_at FROM campaign_runs WHERE id = $1`, run)
	ds := f.claim(1)
	f.record(sentResult(ds[0]))
	if s := f.str(`SELECT tableoid::regclass::text FROM delivery_attempts WHERE delivery_id = $1`, ds[0].ID); s != "delivery_attempts_default" {
		t.Fatalf("attempt in %s, want the default partition", s)
	}
	ps, err := f.store.Partitions(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	ws := db.PartitionWarnings(ps, f.now())
	if len(ws) != 1 || !strings.Contains(ws[0].What, "2 rows wait in the DEFAULT partitions") {
		t.Errorf("warnings = %+v, want one about 2 rows in the DEFAULT partitions", ws)
	}

	if n, err := f.store.EnsurePartitions(f.ctx, time.Date(2031, 6, 1, 0, 0, 0, 0, time.UTC), 0); err != nil || n != 1 {
		t.Fatalf("EnsurePartitions = %d, %v; want 1, nil", n, err)
	}
	if s := f.str(`SELECT d.tableoid::regclass::text || ' ' || a.tableoid::regclass::text
		FROM deliveries d JOIN delivery_attempts a ON a.delivery_id = d.id WHERE d.id = $1`, ds[0].ID); s != "deliveries_p2031_06 delivery_attempts_p2031_06" {
		t.Errorf("after EnsurePartitions the rows are in %s", s)
	}
	if ps, err = f.store.Partitions(f.ctx); err != nil {
		t.Fatal(err)
	}
	if ws := db.PartitionWarnings(ps, f.now()); len(ws) != 0 {
		t.Errorf("warnings after the move: %+v", ws)
	}
}

// A partition is dropped only when none of its runs is open, never the
// default; the summaries of its runs stay as they were, stored totals or
// not, and a late result on a completed run keeps them current.
func TestDropPartitionKeepsSummaries(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	run := f.run(f.campaign([]string{"a", "b", "c"}))
	ds := f.claim(10)
	lost := campaign.Result{Delivery: ds[2], Status: campaign.DeliveryUnknown, Error: "timeout",
		Attempt: campaign.Attempt{Outcome: campaign.OutcomeAmbiguous, StartedAt: time.Now(), Error: "timeout"}}
	failed := campaign.Result{Delivery: ds[1], Status: campaign.DeliveryFailed, Error: "code 1002",
		Attempt: campaign.Attempt{Outcome: campaign.OutcomeFailed, StartedAt: time.Now(), Code: "1002"}}
	if done := f.record(sentResult(ds[0]), failed, lost); len(done) != 1 {
		t.Fatalf("completed %v, want run %d", done, run.ID)
	}
	if s, c := f.stored(run.ID), f.counted(run.ID); s != c || c != "(3,1,1,1,0,0,3)" {
		t.Errorf("stored totals %s, counted %s; want both (3,1,1,1,0,0,3)", s, c)
	}
	// The API's late answer for the unknown one: totals follow.
	f.record(sentResult(ds[2]))
	if s, c := f.stored(run.ID), f.counted(run.ID); s != c || c != "(3,2,1,0,0,0,3)" {
		t.Errorf("after a late result: stored totals %s, counted %s; want both (3,2,1,0,0,0,3)", s, c)
	}

	part := "deliveries_p" + f.now().UTC().Format("2006_01")
	drop := func(name string) error {
		_, err := f.pool.Exec(f.ctx, `SELECT broadcaster_drop_partition($1)`, name)
		return err
	}
	wantSQLState(t, drop("deliveries_default"), pgerrcode.ObjectInUse)
	wantSQLState(t, drop("deliveries_nope"), pgerrcode.UndefinedTable)
	seal := func(name string) error {
		_, err := f.pool.Exec(f.ctx, `SELECT broadcaster_seal_partition($1)`, name)
		return err
	}
	wantSQLState(t, seal("deliveries_default"), pgerrcode.ObjectInUse)
	cancelled := f.campaign([]string{"d", "e"})
	open := f.run(cancelled)
	wantSQLState(t, drop(part), pgerrcode.ObjectInUse)
	wantSQLState(t, seal(part), pgerrcode.ObjectInUse)
	if tag, err := f.pool.Exec(f.ctx, `UPDATE deliveries SET updated_at = now() WHERE run_id = $1`, open.ID); err != nil || tag.RowsAffected() != 2 {
		t.Errorf("a refused seal left the partition sealed: %v, %v", tag, err)
	}
	if n := f.int64(`SELECT open_runs FROM broadcaster_partitions WHERE deliveries_partition = $1`, part); n != 1 {
		t.Errorf("open_runs = %d, want 1", n)
	}
	f.exec(`UPDATE campaigns SET status = 'cancelled' WHERE id = $1`, cancelled)
	if _, _, err := f.store.CancelCampaigns(f.ctx); err != nil {
		t.Fatal(err)
	}
	if s := f.stored(open.ID); s != "(2,0,0,0,0,2,0)" {
		t.Errorf("cancelled run's stored totals %s, want (2,0,0,0,0,2,0)", s)
	}
	// As a run closed before migration 0008 would be: no stored totals.
	f.exec(`UPDATE campaign_runs SET total = NULL, sent = NULL, failed = NULL, unknown = NULL, pending = NULL,
		skipped = NULL, attempts = NULL WHERE id = $1`, run.ID)
	before := []string{f.summary(run.ID), f.summary(open.ID)}
	// As a late result racing its run's close could leave them: stored
	// totals one behind the rows. The drop counts them again.
	f.exec(`UPDATE campaign_runs SET skipped = 1 WHERE id = $1`, open.ID)

	// Sealed, the pair ignores late writes: an archive taken now is what
	// the drop removes.
	if err := seal(part); err != nil {
		t.Fatalf("seal %s: %v", part, err)
	}
	if err := seal(part); err != nil {
		t.Fatalf("seal %s again: %v", part, err)
	}
	ps, err := f.store.Partitions(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	sealed := 0
	for _, p := range ps {
		if p.Sealed {
			sealed++
			if p.Deliveries != part {
				t.Errorf("%s listed as sealed, want only %s", p.Deliveries, part)
			}
		}
	}
	if sealed != 1 {
		t.Errorf("%d pairs listed as sealed, want %s", sealed, part)
	}
	if tag, err := f.pool.Exec(f.ctx, `UPDATE deliveries SET last_error = 'late' WHERE run_id = $1`, run.ID); err != nil || tag.RowsAffected() != 0 {
		t.Errorf("update of a sealed partition: %v, %v; want nothing changed", tag, err)
	}
	lateAttempt := ds[1]
	lateAttempt.Attempt++
	f.record(campaign.Result{Delivery: lateAttempt, Status: campaign.DeliveryFailed, Attempt: campaign.Attempt{Outcome: campaign.OutcomeFailed, StartedAt: time.Now()}})
	if n := f.int64(`SELECT count(*) FROM delivery_attempts WHERE delivery_id = $1`, ds[1].ID); n != 1 {
		t.Errorf("%d attempts of a delivery in a sealed partition, want the 1 from before", n)
	}

	if err := drop(part); err != nil {
		t.Fatalf("drop %s: %v", part, err)
	}
	after := []string{f.summary(run.ID), f.summary(open.ID)}
	if strings.Join(before, "\n") != strings.Join(after, "\n") {
		t.Errorf("summaries before the drop:\n%s\nafter:\n%s", strings.Join(before, "\n"), strings.Join(after, "\n"))
	}
	if n := f.int64(`SELECT count(*) FROM deliveries WHERE run_id IN ($1, $2)`, run.ID, open.ID); n != 0 {
		t.Errorf("%d deliveries left after the drop", n)
	}
	if n := f.int64(`SELECT count(*) FROM broadcaster_partitions WHERE deliveries_partition = $1 OR attempts_partition = $2`,
		part, strings.Replace(part, "deliveries", "delivery_attempts", 1)); n != 0 {
		t.Errorf("the dropped pair is still listed")
	}
}

// PartitionWarnings judges how far ahead the monthly partitions go.
func TestPartitionWarnings(t *testing.T) {
	t.Parallel()
	month := func(y int, m time.Month) campaign.Partition {
		from := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
		return campaign.Partition{Kind: campaign.PartitionMonth, From: from, To: from.AddDate(0, 1, 0)}
	}
	now := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		ps   []campaign.Partition
		want string
	}{
		{"two months ahead", []campaign.Partition{month(2026, 11), month(2026, 12), month(2027, 1)}, ""},
		{"ends in eleven days", []campaign.Partition{month(2026, 11)}, "partitions end at 2026-12-01, less than a month ahead"},
		{"a gap", []campaign.Partition{month(2026, 11), month(2027, 1)}, "partitions end at 2026-12-01, less than a month ahead"},
		{"none for now", []campaign.Partition{month(2026, 10)}, "no partition holds the runs created now"},
		{"rows waiting", []campaign.Partition{month(2026, 11), month(2026, 12), {Kind: campaign.PartitionDefault, Waiting: 3}}, "3 rows wait"},
		{"left sealed", []campaign.Partition{month(2026, 11), month(2026, 12), {Kind: campaign.PartitionMonth, Deliveries: "deliveries_p2026_01", Attempts: "delivery_attempts_p2026_01", Sealed: true,
			From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)}}, "deliveries_p2026_01 and delivery_attempts_p2026_01 are sealed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws := db.PartitionWarnings(tt.ps, now)
			switch {
			case tt.want == "" && len(ws) != 0:
				t.Errorf("warnings %+v, want none", ws)
			case tt.want != "" && (len(ws) != 1 || !strings.Contains(ws[0].What, tt.want)):
				t.Errorf("warnings %+v, want one saying %q", ws, tt.want)
			}
		})
	}
}

// migrate does not apply a migration older binaries refuse while an
// instance holds live claims: it would fail mid-batch.
func TestMigrateRefusesABreakingMigrationUnderLiveClaims(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	conn, _ := emptyDatabase(t)
	if err := db.MigrateTo(ctx, conn, 5); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `WITH c AS (INSERT INTO campaigns (name, w_id) VALUES ('c', 'w1') RETURNING id),
		r AS (INSERT INTO campaign_runs (campaign_id, scheduled_for, status) SELECT id, now(), 'running' FROM c RETURNING id, campaign_id)
		INSERT INTO deliveries (run_id, campaign_id, wc_id, status, attempts, claimed_by, lease_until)
		SELECT id, campaign_id, 'a', 'sending', 1, 'old:1', now() + interval '1 hour' FROM r`); err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx, conn); !errors.Is(err, db.ErrInstancesRunning) || !strings.Contains(err.Error(), "fix: stop every broadcaster instance") {
		t.Fatalf("Migrate under a live claim = %v, want ErrInstancesRunning with its fix", err)
	}
	if v, err := db.SchemaVersion(ctx, conn); err != nil || v != 5 {
		t.Fatalf("schema version %d, %v after the refusal; want 5", v, err)
	}
	if _, err := conn.Exec(ctx, `UPDATE deliveries SET lease_until = now() - interval '1 second'`); err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx, conn); err != nil {
		t.Fatalf("Migrate once the lease ran out: %v", err)
	}
}
