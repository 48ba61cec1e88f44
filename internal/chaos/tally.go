package chaos

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/broadcaster/broadcaster/internal/journal"
)

// Tally compares what the fake API did with what the database recorded.
type Tally struct {
	Recipients int
	// Confirmed counts recipients the API sent a message to (code 1000).
	Confirmed int
	// Sent and Unknown count deliveries recorded so.
	Sent, Unknown int
	// Lost counts confirmed sends that the database does not record as
	// sent with the API's msgId: `unknown` ones, mostly.
	Lost int
	// Duplicates counts recipients the API sent to more than once.
	Duplicates int
	// Open counts deliveries still pending or sending.
	Open int
}

// Tally counts. Call it once everything is final.
func (r *Rig) Tally(ctx context.Context) (Tally, error) {
	t := Tally{Recipients: r.Opts.Recipients}
	confirmed := map[string]int64{} // wcId → msgId
	for _, q := range r.API.Requests() {
		if !q.Sent() {
			continue
		}
		if _, dup := confirmed[q.WcID]; dup {
			t.Duplicates++
		}
		confirmed[q.WcID] = q.MsgID
	}
	t.Confirmed = len(confirmed)

	conn, err := pgx.Connect(ctx, r.PG.URL())
	if err != nil {
		return t, err
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, `SELECT wc_id, status, coalesce(msg_id, 0) FROM deliveries`)
	if err != nil {
		return t, err
	}
	type row struct {
		wc, status string
		msgID      int64
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var x row
		return x, r.Scan(&x.wc, &x.status, &x.msgID)
	})
	if err != nil {
		return t, err
	}
	recordedSent := map[string]int64{}
	for _, x := range got {
		switch x.status {
		case "sent":
			t.Sent++
			recordedSent[x.wc] = x.msgID
		case "unknown":
			t.Unknown++
		case "pending", "sending":
			t.Open++
		}
	}
	for wc, msgID := range confirmed {
		if got, ok := recordedSent[wc]; !ok || got != msgID {
			t.Lost++
		}
	}
	return t, nil
}

// Check holds a tally to the bound of issue 8: no recipient messaged twice,
// nothing left open, and at most lost confirmed sends not recorded as sent
// (workers.concurrency without a journal, none with one).
func (t Tally) Check(lost int) error {
	var errs []error
	if t.Duplicates > 0 {
		errs = append(errs, fmt.Errorf("%d recipients messaged twice", t.Duplicates))
	}
	if t.Open > 0 {
		errs = append(errs, fmt.Errorf("%d deliveries left pending or sending", t.Open))
	}
	if t.Lost > lost {
		errs = append(errs, fmt.Errorf("%d API-confirmed sends not recorded as sent, bound %d", t.Lost, lost))
	}
	return errors.Join(errs...)
}

// journalled waits until every send the API confirmed is in the journal or
// recorded sent: the journal's promise, which holds within a sync of the
// answer's arrival.
func (r *Rig) journalled(ctx context.Context) error {
	for {
		missing, err := r.unjournalled(ctx)
		if err == nil && missing == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for every confirmed send to be journalled (%d missing, %v): %w", missing, err, ctx.Err())
		case <-time.After(pollEvery):
		}
	}
}

// unjournalled counts confirmed sends neither in the journal nor recorded.
// The journal is read first: a result leaves it only once recorded.
func (r *Rig) unjournalled(ctx context.Context) (int, error) {
	held, _, err := journal.Read(r.Journal)
	if err != nil {
		return 0, err
	}
	known := map[string]bool{}
	for _, res := range held {
		known[res.Delivery.WcID] = true
	}
	conn, err := pgx.Connect(ctx, r.PG.URL())
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, `SELECT wc_id FROM deliveries WHERE status = 'sent'`)
	if err != nil {
		return 0, err
	}
	sent, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, err
	}
	for _, wc := range sent {
		known[wc] = true
	}
	missing := 0
	for _, q := range r.API.Requests() {
		if q.Sent() && !known[q.WcID] {
			missing++
		}
	}
	return missing, nil
}
