package campaign_test

import (
	"testing"
	"time"

	"github.com/broadcaster/broadcaster/campaign"
	"github.com/broadcaster/broadcaster/db"
	"github.com/broadcaster/broadcaster/internal/dbtest"
)

// skewedClock is the wall clock of a host whose clock is off by skew. It
// embeds SystemClock, so the store's queries use the database's clock, as
// in production.
type skewedClock struct {
	campaign.SystemClock
	skew time.Duration
}

func (c skewedClock) Now() time.Time { return time.Now().Add(c.skew) }

// Two instances on hosts whose clocks are ten minutes apart from the
// database's, one ahead and one behind, pause, probe and resume on the
// database's clock: the shared row is written with it, and each compares
// the row's times with its own clock only as offsets from the database's
// now. Times far from the skew (a minute, an hour) keep the test free of
// wall-clock races.
func TestOutageFollowsTheDatabaseClockOnSkewedHosts(t *testing.T) {
	pool := dbtest.New(t)
	const skew = 10 * time.Minute
	cfg := campaign.OutageConfig{Failures: 1, ProbeEvery: time.Millisecond, ProbeLease: time.Hour,
		Accounts: campaign.Pacing{BreakerFailures: 3, BreakerCoolDown: 5 * time.Minute}}
	ahead := newOutageInstance(t, db.NewStore(pool, "ahead"), skewedClock{skew: skew}, cfg)
	behind := newOutageInstance(t, db.NewStore(pool, "behind"), skewedClock{skew: -skew}, cfg)
	exec := func(sql string) {
		t.Helper()
		if _, err := pool.Exec(t.Context(), sql); err != nil {
			t.Fatal(err)
		}
	}
	dbNow := func() (now time.Time) {
		t.Helper()
		if err := pool.QueryRow(t.Context(), `SELECT now()`).Scan(&now); err != nil {
			t.Fatal(err)
		}
		return now
	}
	check := func(what, sql string, args ...any) {
		t.Helper()
		var ok bool
		if err := pool.QueryRow(t.Context(), sql, args...).Scan(&ok); err != nil {
			t.Fatal(err)
		}
		if !ok {
			t.Errorf("%s: %s is false", what, sql)
		}
	}
	probe := func(id int64) campaign.Delivery { return campaign.Delivery{ID: id, WID: "w"} }

	before := dbNow()
	ahead.observe(1, refused)
	ahead.refresh()
	behind.refresh()
	if _, paused := behind.o.Paused(); !paused {
		t.Fatal("the pause did not reach the other instance")
	}
	check("the pause is on the database's clock", `SELECT since BETWEEN $1 AND now()
		AND paused_until = since + interval '1 millisecond' FROM api_outage`, before)

	// The next probe is a minute away on the database's clock: the host
	// ahead of it must not see it due.
	exec(`UPDATE api_outage SET paused_until = now() + interval '1 minute'`)
	ahead.refresh()
	behind.refresh()
	if a, b := ahead.claim(8, probe(2)), behind.claim(8, probe(2)); a != 0 || b != 0 {
		t.Fatalf("probed a minute early: ahead %d, behind %d", a, b)
	}
	// Its time has come on the database's clock: the host behind it sees
	// it due as well.
	exec(`UPDATE api_outage SET paused_until = now()`)
	before = dbNow()
	behind.refresh()
	if got := behind.claim(8, probe(3)); got != 1 {
		t.Fatalf("behind's probe once due on the database's clock: limit %d, want 1", got)
	}
	check("the probe's lease is on the database's clock",
		`SELECT probe_until BETWEEN $1::timestamptz + interval '1 hour' AND now() + interval '1 hour' FROM api_outage`, before)
	// Its lease runs for an hour of the database's time, whatever the
	// host ahead reads.
	ahead.refresh()
	if got := ahead.claim(8, probe(4)); got != 0 {
		t.Fatalf("ahead probed (%d) while behind's lease runs", got)
	}
	// The lease runs out (behind died): ahead probes, the API answers, and
	// both resume.
	exec(`UPDATE api_outage SET probe_until = now()`)
	ahead.refresh()
	if got := ahead.claim(8, probe(5)); got != 1 {
		t.Fatalf("ahead's probe after behind's lease: limit %d, want 1", got)
	}
	ahead.observe(5, busy)
	ahead.refresh()
	behind.refresh()
	if a, b := ahead.claim(8), behind.claim(8); a != 8 || b != 8 {
		t.Fatalf("after the answer: limits ahead %d, behind %d; want 8 each", a, b)
	}
	check("resumed", `SELECT since IS NULL FROM api_outage`)

	// Resting accounts are judged on the database's clock too: rested a
	// moment ago (still resting) and six minutes ago (cool-down over).
	exec(`INSERT INTO sending_accounts (w_id, consecutive_failures, last_failure_at) VALUES
		('resting', 5, now()), ('rested', 5, now() - interval '6 minutes')`)
	ahead.refresh()
	behind.refresh()
	if a, b := ahead.o.RestingAccounts(), behind.o.RestingAccounts(); a != 1 || b != 1 {
		t.Errorf("resting accounts: ahead %d, behind %d; want 1 each", a, b)
	}
}
