package db

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/broadcaster/broadcaster/campaign"
)

// OpenTemplates implements campaign.DeliveryStore.
func (s *Store) OpenTemplates(ctx context.Context, known []int64) ([]campaign.RunTemplate, error) {
	if known == nil {
		known = []int64{} // unnest(NULL) is no rows too, but say so
	}
	rows, err := s.pool.Query(ctx, openTemplatesSQL, pgx.NamedArgs{"known": known})
	if err != nil {
		return nil, fmt.Errorf("templates of open runs: %w", err)
	}
	rts, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (campaign.RunTemplate, error) {
		var (
			rt                 campaign.RunTemplate
			id                 *int64
			name, img, content *string
		)
		if err := row.Scan(&rt.RunID, &rt.CampaignID, &rt.Closed, &id, &name, &img, &content); err != nil {
			return rt, err
		}
		if id != nil {
			rt.Template = &campaign.Template{ID: *id, Name: *name, ImgURL: *img, Content: *content}
		}
		return rt, nil
	})
	if err != nil {
		return nil, fmt.Errorf("templates of open runs: %w", err)
	}
	return rts, nil
}

// Claim implements campaign.DeliveryStore with up to two statements sent as
// one batch: one round trip, and one implicit transaction (the batch ends in
// a single Sync). The first, when p.EnsureAccounts asks, makes sure every
// account that sends has a pacing row; the second claims what the accounts
// may send now.
func (s *Store) Claim(ctx context.Context, p campaign.ClaimParams) ([]campaign.Delivery, error) {
	b := &pgx.Batch{}
	if p.EnsureAccounts {
		b.Queue(ensureAccountsSQL, pgx.NamedArgs{"burst": float64(max(p.Pacing.Burst, 1)), "now": timeOrNull(p.Now)})
	}
	b.Queue(claimSQL, s.claimArgs(p))
	res := s.pool.SendBatch(ctx, b)
	ds, err := claimed(res, p.EnsureAccounts)
	if cerr := res.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	return ds, nil
}

// claimArgs binds claim.sql's named parameters.
func (s *Store) claimArgs(p campaign.ClaimParams) pgx.NamedArgs {
	pc := p.Pacing
	return pgx.NamedArgs{
		"limit":            p.Limit,
		"owner":            s.owner,
		"lease_ms":         p.Lease.Milliseconds(),
		"rate":             pc.PerSecond,
		"burst":            float64(max(pc.Burst, 1)),
		"jitter_ms":        pc.Jitter.Milliseconds(),
		"breaker_failures": pc.BreakerFailures,
		"cool_down_ms":     pc.BreakerCoolDown.Milliseconds(),
		"exclude":          excluded(p.Exclude),
		"now":              timeOrNull(p.Now),
	}
}

func claimed(res pgx.BatchResults, ensured bool) ([]campaign.Delivery, error) {
	if ensured {
		if _, err := res.Exec(); err != nil {
			return nil, err
		}
	}
	rows, err := res.Query()
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (campaign.Delivery, error) {
		var (
			d         campaign.Delivery
			createdAt *time.Time
		)
		err := row.Scan(&d.ID, &d.RunID, &d.CampaignID, &d.WcID, &d.WID, &d.Attempt, &d.ScheduledFor, &createdAt)
		if createdAt != nil {
			d.RunCreatedAt = *createdAt
		}
		return d, err
	})
}

// Record implements campaign.DeliveryStore: every attempt and result of the
// batch, then the completion of the runs it finished and the totals of its
// closed runs, as one batch of statements: one round trip, and one implicit
// transaction (the batch ends in a single Sync, so all of it commits or
// none). It was a transaction of seven round trips; a result holds its
// worker's slot until it is written, so each round trip was a slot idle.
func (s *Store) Record(ctx context.Context, results []campaign.Result) ([]int64, error) {
	if len(results) == 0 {
		return nil, nil
	}
	a := newResultArrays(results)
	acct := newAccountResults(results)
	runs := make([]int64, len(results))
	for i, r := range results {
		runs[i] = r.Delivery.RunID
	}
	runs = distinct(runs)
	b := &pgx.Batch{}
	b.Queue(setActorSQL, actorArgs(campaign.Daemon)) // completions are the daemon's, in audit_log
	b.Queue(insertAttemptsSQL, a.attemptArgs())
	b.Queue(updateDeliveriesSQL, a.deliveryArgs())
	b.Queue(accountResultsSQL, pgx.NamedArgs{"w_id": acct.wID, "reset": acct.reset, "fails": acct.fails})
	b.Queue(completeRunsSQL, pgx.NamedArgs{"runs": runs})
	// Closed runs among them, those just completed included, store their
	// totals counted with this batch's results (refresh_run_totals.sql).
	b.Queue(refreshRunTotalsSQL, pgx.NamedArgs{"runs": runs})
	res := s.pool.SendBatch(ctx, b)
	completed, err := recorded(res)
	if cerr := res.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("record results: %w", err)
	}
	return completed, nil
}

// recorded reads Record's batch: the runs it completed.
func recorded(res pgx.BatchResults) ([]int64, error) {
	for _, what := range []string{"set audit actor", "insert attempts", "update deliveries", "update accounts"} {
		if _, err := res.Exec(); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
	}
	rows, err := res.Query()
	if err != nil {
		return nil, fmt.Errorf("complete runs: %w", err)
	}
	completed, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("complete runs: %w", err)
	}
	if _, err := res.Exec(); err != nil {
		return nil, fmt.Errorf("store run totals: %w", err)
	}
	return completed, nil
}

// Reap implements campaign.DeliveryStore.
func (s *Store) Reap(ctx context.Context, p campaign.ReapParams) (int, error) {
	var reaped int
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, reapSQL, pgx.NamedArgs{
			"retry_ambiguous": p.RetryAmbiguous,
			"owner":           s.owner,
			"max_attempts":    p.MaxAttempts,
			"delay_ms":        p.Delay.Milliseconds(),
			"now":             timeOrNull(p.Now),
			"holding":         holding(p.Holding),
		})
		if err != nil {
			return err
		}
		runs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		reaped = len(runs)
		if _, err := tx.Exec(ctx, suppressPendingSQL); err != nil {
			return err
		}
		if _, err = completeRuns(ctx, tx, nil); err != nil {
			return err
		}
		return refreshTotals(ctx, tx, distinct(runs))
	})
	if err != nil {
		return 0, fmt.Errorf("reap expired leases: %w", err)
	}
	return reaped, nil
}

// Release implements campaign.DeliveryStore.
func (s *Store) Release(ctx context.Context, ds []campaign.Delivery) (int, error) {
	if len(ds) == 0 {
		return 0, nil
	}
	ids := make([]int64, len(ds))
	attempts := make([]int32, len(ds))
	keys := make([]*time.Time, len(ds))
	for i, d := range ds {
		ids[i], attempts[i], keys[i] = d.ID, int32(d.Attempt), timeOrNull(d.RunCreatedAt)
	}
	var released int
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, releaseSQL, pgx.NamedArgs{
			"ids": ids, "attempts": attempts, "run_created_at": keys, "owner": s.owner,
		})
		if err != nil {
			return err
		}
		runs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		released = len(runs)
		return refreshTotals(ctx, tx, distinct(runs))
	})
	if err != nil {
		return 0, fmt.Errorf("release claimed deliveries: %w", err)
	}
	return released, nil
}

// Outstanding implements campaign.DeliveryStore.
func (s *Store) Outstanding(ctx context.Context, p campaign.OutstandingParams) (campaign.Outstanding, error) {
	var (
		o      campaign.Outstanding
		nextMS int64
	)
	err := s.pool.QueryRow(ctx, outstandingSQL, pgx.NamedArgs{
		"rate":             p.Pacing.PerSecond,
		"breaker_failures": p.Pacing.BreakerFailures,
		"cool_down_ms":     p.Pacing.BreakerCoolDown.Milliseconds(),
		"now":              timeOrNull(p.Now),
	}).Scan(&o.Pending, &o.Sending, &nextMS)
	if err != nil {
		return o, fmt.Errorf("count outstanding deliveries: %w", err)
	}
	o.NextDue = time.Duration(nextMS) * time.Millisecond
	return o, nil
}

// resultArrays holds a batch of results as parallel columns, the shape that
// unnest() turns back into rows: one round trip for the whole batch.
type resultArrays struct {
	id, retryMS                     []int64
	runCreatedAt                    []*time.Time // NULL: the legacy partition
	attempt, durationMS             []int32
	httpStatus, msgType             []*int32
	wID, status, outcome            []string
	code, attemptErr, lastErr, resp []*string
	startedAt                       []time.Time
	sentAt                          []*time.Time
	msgIDs, newMsgIDs, createTimes  []*int64
	overflow                        []*string
}

func newResultArrays(results []campaign.Result) *resultArrays {
	a := &resultArrays{}
	for _, r := range results {
		at := r.Attempt
		a.id = append(a.id, r.Delivery.ID)
		a.runCreatedAt = append(a.runCreatedAt, timeOrNull(r.Delivery.RunCreatedAt))
		a.attempt = append(a.attempt, int32(r.Delivery.Attempt))
		a.wID = append(a.wID, r.Delivery.WID)
		a.startedAt = append(a.startedAt, at.StartedAt)
		a.durationMS = append(a.durationMS, int32(at.Duration.Milliseconds()))
		a.httpStatus = append(a.httpStatus, nonZero32(at.HTTPStatus))
		a.code = append(a.code, nonEmpty(at.Code))
		a.outcome = append(a.outcome, at.Outcome.String())
		a.attemptErr = append(a.attemptErr, nonEmpty(clean(at.Error)))
		a.lastErr = append(a.lastErr, nonEmpty(clean(r.Error)))
		a.resp = append(a.resp, nonEmpty(clean(at.Response)))
		a.status = append(a.status, string(r.Status))
		a.retryMS = append(a.retryMS, r.RetryIn.Milliseconds())
		var sentAt *time.Time
		var msgID, newMsgID, createTime *int64
		var msgType *int32
		var overflow *string
		if r.Status == campaign.DeliverySent {
			t := at.StartedAt.Add(at.Duration)
			sentAt = &t
			// A 1000 without data has a zero receipt: store NULL, not a fake id.
			if rc := at.Receipt; rc != nil && (rc.MsgID != 0 || rc.NewMsgID != 0 || len(rc.Overflow) > 0) {
				msgID, newMsgID, createTime = nonZero64(rc.MsgID), nonZero64(rc.NewMsgID), nonZero64(rc.CreateTime)
				mt := int32(rc.MsgType)
				msgType = &mt
				overflow = overflowJSON(rc.Overflow)
			}
		}
		a.sentAt = append(a.sentAt, sentAt)
		a.msgIDs = append(a.msgIDs, msgID)
		a.newMsgIDs = append(a.newMsgIDs, newMsgID)
		a.createTimes = append(a.createTimes, createTime)
		a.msgType = append(a.msgType, msgType)
		a.overflow = append(a.overflow, overflow)
	}
	return a
}

// overflowJSON writes the ids that do not fit bigint as a JSON object for
// deliveries.receipt_overflow, or nil (NULL) when there are none. Values are
// cleaned like any text from the network, since jsonb refuses \u0000.
func overflowJSON(ids map[string]string) *string {
	if len(ids) == 0 {
		return nil
	}
	cleaned := make(map[string]string, len(ids))
	for k, v := range ids {
		cleaned[k] = clean(v)
	}
	b, _ := json.Marshal(cleaned) // a map of valid strings always encodes
	s := string(b)
	return &s
}

// attemptArgs binds insert_attempts.sql's arrays by name.
func (a *resultArrays) attemptArgs() pgx.NamedArgs {
	return pgx.NamedArgs{
		"delivery_id": a.id, "attempt": a.attempt, "w_id": a.wID, "started_at": a.startedAt,
		"duration_ms": a.durationMS, "http_status": a.httpStatus, "code": a.code,
		"outcome": a.outcome, "error": a.attemptErr, "response": a.resp,
		"run_created_at": a.runCreatedAt,
	}
}

// deliveryArgs binds update_deliveries.sql's arrays by name.
func (a *resultArrays) deliveryArgs() pgx.NamedArgs {
	return pgx.NamedArgs{
		"id": a.id, "attempt": a.attempt, "status": a.status, "code": a.code, "error": a.lastErr,
		"msg_id": a.msgIDs, "new_msg_id": a.newMsgIDs, "create_time": a.createTimes,
		"msg_type": a.msgType, "sent_at": a.sentAt, "retry_ms": a.retryMS, "w_id": a.wID,
		"receipt_overflow": a.overflow, "run_created_at": a.runCreatedAt,
	}
}

// accountResults is, per sending account in a batch, what the circuit
// breaker needs: whether a send succeeded (which restarts the count of
// failures in a row) and how many attempts failed after the last success.
// Only the API's own answers count as failures (Attempt.AccountFailure):
// a failure of the API as a whole (Attempt.Transport) pauses everyone
// instead, and says nothing about this account. Every account of the batch
// is listed all the same, so that any result ends its probe's hold.
type accountResults struct {
	wID   []string
	reset []bool
	fails []int32
}

func newAccountResults(results []campaign.Result) accountResults {
	index := map[string]int{}
	var a accountResults
	for _, r := range results {
		i, ok := index[r.Delivery.WID]
		if !ok {
			i = len(a.wID)
			index[r.Delivery.WID] = i
			a.wID, a.reset, a.fails = append(a.wID, r.Delivery.WID), append(a.reset, false), append(a.fails, 0)
		}
		switch {
		case r.Attempt.Outcome == campaign.OutcomeSent:
			a.reset[i], a.fails[i] = true, 0
		case r.Attempt.AccountFailure():
			a.fails[i]++
		}
	}
	return a
}

// timeOrNull passes a zero time as NULL, which the queries read as "the
// database's clock": coalesce(@now::timestamptz, now()).
func timeOrNull(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// excluded never passes NULL for the exclusion list: NOT (x = ANY(NULL)) is
// NULL, which would exclude everything.
func excluded(ws []string) []string {
	if ws == nil {
		return []string{}
	}
	return ws
}

// holding never passes NULL for the held ids: NOT (id = ANY(NULL)) is
// NULL, which would leave every lost claim of this process stranded.
func holding(ids []int64) []int64 {
	if ids == nil {
		return []int64{}
	}
	return ids
}

func nonZero32(v int) *int32 {
	if v == 0 {
		return nil
	}
	n := int32(v)
	return &n
}

func nonZero64(v int64) *int64 {
	if v == 0 {
		return nil
	}
	return &v
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// clean makes s storable in a PostgreSQL text column, which rejects NUL
// bytes and invalid UTF-8 that an API answer may well contain.
func clean(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

func distinct(ids []int64) []int64 {
	seen := make(map[int64]bool, len(ids))
	out := ids[:0:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
