package db_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/broadcaster/broadcaster/campaign"
)

// The database refuses exactly the changes of status that
// campaign.DeliveryTransitions does not list, whoever makes them.
func TestDeliveryTransitionsEnforced(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	run := f.run(f.campaign([]string{"wxid_a"}))
	id := f.int64(`SELECT id FROM deliveries WHERE run_id = $1`, run.ID)
	statuses := campaign.DeliveryStatuses()
	machine := campaign.DeliveryTransitions()
	if len(machine) != len(statuses) {
		t.Fatalf("DeliveryTransitions names %d statuses, want %d", len(machine), len(statuses))
	}
	for _, from := range statuses {
		for _, to := range statuses {
			if from == to {
				continue
			}
			// Put the row in from without the trigger, as the test's setup.
			f.exec(`ALTER TABLE deliveries DISABLE TRIGGER deliveries_status_transition`)
			f.exec(`UPDATE deliveries SET status = $2 WHERE id = $1`, id, string(from))
			f.exec(`ALTER TABLE deliveries ENABLE TRIGGER deliveries_status_transition`)

			_, err := f.pool.Exec(f.ctx, `UPDATE deliveries SET status = $2 WHERE id = $1`, id, string(to))
			allowed := slices.Contains(machine[from], to)
			var pgErr *pgconn.PgError
			refused := errors.As(err, &pgErr) && pgErr.Code == pgerrcode.CheckViolation
			switch {
			case allowed && err != nil:
				t.Errorf("%s → %s refused (%v); DeliveryTransitions allows it", from, to, err)
			case !allowed && !refused:
				t.Errorf("%s → %s: err %v; want a check_violation, DeliveryTransitions does not allow it", from, to, err)
			}
		}
	}
	// Updates that leave the status alone are not the machine's business.
	f.exec(`UPDATE deliveries SET last_error = 'note' WHERE id = $1`, id)
}
