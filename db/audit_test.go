package db_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/broadcaster/broadcaster/campaign"
)

// loginRole creates a role that may log in, granted what grants name, and
// returns its name and a connection as it: the role audit_log must record
// is the login, which a test cannot fake with SET ROLE.
func loginRole(t *testing.T, f *fixture, dbURL string, grants ...string) (string, *pgx.Conn) {
	t.Helper()
	role := "ops_" + strings.ReplaceAll(f.str(`SELECT gen_random_uuid()::text`), "-", "")
	f.exec(`CREATE ROLE ` + role + ` LOGIN PASSWORD 'secret'`)
	t.Cleanup(func() {
		_, _ = f.pool.Exec(f.ctx, `DROP OWNED BY `+role)
		_, _ = f.pool.Exec(f.ctx, `DROP ROLE `+role)
	})
	for _, g := range grants {
		f.exec(`GRANT ` + g + ` TO ` + role)
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(role, "secret")
	conn, err := pgx.Connect(f.ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(f.ctx) })
	return role, conn
}

// A role that may change campaigns needs no grant on audit_log for its
// changes to be recorded; whatever a session claims in the broadcaster.*
// settings, db_role is the role that made the change, and a role granted
// INSERT on audit_log cannot name another in it either.
func TestAuditRecordsTheRealRole(t *testing.T) {
	t.Parallel()
	f, dbURL := newFixtureURL(t)
	id := f.campaign([]string{"a"})
	role, conn := loginRole(t, f, dbURL, `SELECT, UPDATE ON campaigns`)
	if _, err := conn.Exec(f.ctx, `UPDATE campaigns SET status = 'paused' WHERE id = $1`, id); err != nil {
		t.Fatalf("pause with SQL: %v", err)
	}
	err := pgx.BeginFunc(f.ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(f.ctx, `SELECT set_config('broadcaster.actor', 'alice', true),
			set_config('broadcaster.credential', 'console-write', true)`); err != nil {
			return err
		}
		_, err := tx.Exec(f.ctx, `UPDATE campaigns SET status = 'active' WHERE id = $1`, id)
		return err
	})
	if err != nil {
		t.Fatalf("resume claiming to be alice: %v", err)
	}
	writer, wconn := loginRole(t, f, dbURL, `INSERT ON audit_log`, `USAGE ON SEQUENCE audit_log_id_seq`)
	if _, err := wconn.Exec(f.ctx, `INSERT INTO audit_log (who, credential, action, target, db_role)
		VALUES ('alice', 'cli', 'resend', 'run 1', 'postgres')`); err != nil {
		t.Fatalf("insert into audit_log: %v", err)
	}
	es, err := f.store.AuditLog(f.ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []campaign.AuditEntry{ // newest first
		{Who: "alice", Credential: "cli", Action: "resend", DBRole: writer},
		{Who: "alice", Credential: "console-write", Action: campaign.AuditResume, DBRole: role},
		{Who: role, Credential: "sql", Action: campaign.AuditPause, DBRole: role},
	}
	if len(es) != len(want) {
		t.Fatalf("audit log = %+v, want %d entries", es, len(want))
	}
	for i, w := range want {
		if e := es[i]; e.Who != w.Who || e.Credential != w.Credential || e.Action != w.Action || e.DBRole != w.DBRole {
			t.Errorf("entry %d = %+v, want %+v", i, e, w)
		}
	}
}

// A role with no grant cannot write audit_log: no function that writes it
// with its owner's rights may be run by such a role, not even from a
// trigger of its own on a temporary table (pg_trigger_depth() > 0).
func TestAuditCannotBeForged(t *testing.T) {
	t.Parallel()
	f, dbURL := newFixtureURL(t)
	role, conn := loginRole(t, f, dbURL)
	var callable string
	if err := f.pool.QueryRow(f.ctx, `SELECT coalesce(string_agg(p.oid::regprocedure::text, ', '), '')
		FROM pg_proc p WHERE p.prosecdef AND p.pronamespace = current_schema()::regnamespace
		  AND has_function_privilege($1, p.oid, 'EXECUTE')`, role).Scan(&callable); err != nil {
		t.Fatal(err)
	}
	if callable != "" {
		t.Errorf("SECURITY DEFINER functions a role without grants may run: %s", callable)
	}
	var pgErr *pgconn.PgError
	for _, fn := range []string{"broadcaster_audit_campaign_status", "broadcaster_audit_stamp"} {
		_, err := conn.Exec(f.ctx, `CREATE TEMP TABLE IF NOT EXISTS forge (id bigint, status text);
			CREATE TRIGGER forge_`+fn+` AFTER INSERT OR UPDATE ON forge
			FOR EACH ROW EXECUTE FUNCTION `+fn+`();
			INSERT INTO forge VALUES (1, 'active'); UPDATE forge SET status = 'paused'`)
		if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
			t.Errorf("a trigger of its own calling %s: %v, want permission denied", fn, err)
		}
	}
	if _, err := conn.Exec(f.ctx, `INSERT INTO audit_log (who, credential, action, target) VALUES ('alice', 'cli', 'resend', 'run 1')`); !errors.As(err, &pgErr) || pgErr.Code != "42501" {
		t.Errorf("insert into audit_log without a grant: %v, want permission denied", err)
	}
	if n := f.int64(`SELECT count(*) FROM audit_log`); n != 0 {
		t.Errorf("%d audit_log rows written by a role without grants", n)
	}
}

// The status changes broadcaster decides itself are recorded as the
// daemon's, not as a human's SQL: a one-shot campaign completed with its
// run, a campaign marked invalid.
func TestDaemonStatusChangesAudited(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	done := f.campaign([]string{"a"})
	f.run(done)
	f.record(sentResult(f.claim(10)[0]))
	bad := f.campaign([]string{"b"})
	if err := f.store.MarkInvalid(f.ctx, bad, "template_id: missing"); err != nil {
		t.Fatal(err)
	}
	ended := recurringCampaign(f, "@daily")
	f.exec(`UPDATE campaigns SET end_at = now() - interval '1 day' WHERE id = $1`, ended)
	if ids, err := f.store.CompleteEnded(f.ctx, f.now()); err != nil || len(ids) != 1 || ids[0] != ended {
		t.Fatalf("CompleteEnded = %v, %v; want [%d]", ids, err, ended)
	}
	got := f.str(`SELECT string_agg(action || ' ' || target || ' by ' || who || '/' || credential, ', ' ORDER BY id) FROM audit_log`)
	want := "complete " + campaign.CampaignTarget(done) + " by broadcaster/daemon, " +
		"invalidate " + campaign.CampaignTarget(bad) + " by broadcaster/daemon, " +
		"complete " + campaign.CampaignTarget(ended) + " by broadcaster/daemon"
	if got != want {
		t.Errorf("audit log: %s\nwant %s", got, want)
	}
}

// A completed campaign sends while a resend of it is open, so it may be
// paused, which holds the resend; resumed, it is active until broadcaster
// completes it again: with the resend's run, or, when nothing is left
// open, at the scheduler's next pass (one-shot and recurring alike).
func TestPauseCompletedCampaignHoldsItsResend(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id, orig := f.ended(map[string]campaign.DeliveryStatus{"a": failed})
	if _, err := f.store.Resend(f.ctx, campaign.ResendRequest{RunID: orig.ID, Statuses: campaign.ResendStatuses(),
		Actor: cliActor, Now: f.now()}); err != nil {
		t.Fatal(err)
	}
	status := func(want campaign.Status) {
		t.Helper()
		if got := f.str(`SELECT status FROM campaigns WHERE id = $1`, id); got != string(want) {
			t.Fatalf("campaign is %s, want %s", got, want)
		}
	}
	if err := f.store.SetCampaignStatus(f.ctx, id, campaign.StatusPaused, cliActor); err != nil {
		t.Fatalf("pause a completed campaign with an open resend: %v", err)
	}
	if ds := f.claim(10); len(ds) != 0 {
		t.Fatalf("claimed %+v from a paused campaign's resend", ds)
	}
	if err := f.store.SetCampaignStatus(f.ctx, id, campaign.StatusActive, cliActor); err != nil {
		t.Fatal(err)
	}
	ds := f.claim(10)
	if len(ds) != 1 {
		t.Fatalf("claimed %+v after resuming, want the resend's delivery", ds)
	}
	f.record(sentResult(ds[0]))
	status(campaign.StatusCompleted)

	// Paused with nothing open, then resumed: the next pass completes it.
	recurring := recurringCampaign(f, "@daily")
	f.exec(`UPDATE campaigns SET status = 'completed', end_at = now() - interval '1 day' WHERE id = $1`, recurring)
	for _, c := range []int64{id, recurring} {
		for _, to := range []campaign.Status{campaign.StatusPaused, campaign.StatusActive} {
			if err := f.store.SetCampaignStatus(f.ctx, c, to, cliActor); err != nil {
				t.Fatal(err)
			}
		}
	}
	ids, err := f.store.CompleteEnded(f.ctx, f.now())
	if err != nil || len(ids) != 2 {
		t.Fatalf("CompleteEnded = %v, %v; want both campaigns", ids, err)
	}
	status(campaign.StatusCompleted)
	if got := f.str(`SELECT status FROM campaigns WHERE id = $1`, recurring); got != "completed" {
		t.Errorf("recurring campaign is %s, want completed", got)
	}
}
