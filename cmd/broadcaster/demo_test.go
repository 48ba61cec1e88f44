package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/broadcaster/broadcaster/internal/dbtest"
	"github.com/broadcaster/broadcaster/sender/sendertest"
)

func TestDemoWithAThrowawayDatabase(t *testing.T) {
	t.Parallel()
	r := broadcaster(t, nil, "demo", "--recipients", "60")
	if r.code != 0 {
		t.Fatalf("demo: %s", r)
	}
	for _, want := range []string{
		"starting a throwaway PostgreSQL",
		"simulated sendApplet API",
		"run 1 created: 72 deliveries, 3 skipped",
		"progress:", // stdout is not a terminal here: plain progress lines
		"Report (broadcaster report --campaign 1 )",
		"run_id  campaign_id  campaign_name",
		"completed",
		"FROM campaign_run_summary",
		"for 69 recipients, all the demo's own",
		"done in",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("demo output lacks %q:\n%s", want, r.stdout)
		}
	}
}

// demoDatabaseRE finds the name of the database the demo created in its
// output.
var demoDatabaseRE = regexp.MustCompile(`created database (broadcaster_demo_[0-9a-f]+) `)

// With DATABASE_URL naming a database that holds real campaigns — one sent,
// one in the middle of a run, its deliveries pending and sending — the demo
// works in a database of its own, drops it, and leaves every row of the real
// one as it was; the simulated API reaches none of the real recipients.
func TestDemoNeverTouchesDATABASEURLsDatabase(t *testing.T) {
	t.Parallel()
	env, api, conn := daemonEnv(t, sendertest.Config{})
	insertRecipients(t, conn, "real, sent", "wxid_real_sent_", 5)
	if r := broadcaster(t, env, "run", "--once"); r.code != 0 {
		t.Fatalf("run --once: %s", r)
	}
	// A daemon killed mid-run leaves the second campaign's run open: two
	// deliveries sending (their lease far ahead), the rest pending.
	insertRecipients(t, conn, "real, mid-run", "wxid_real_open_", 8)
	api.Update(func(c *sendertest.Config) { c.Fault = sendertest.Hang() })
	env["BROADCASTER_WORKERS_CONCURRENCY"] = "2"
	env["BROADCASTER_API_TIMEOUT"] = "30m"
	d := startDaemon(t, env)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := api.Wait(ctx, func(s sendertest.Stats) bool { return s.InFlight == 2 }); err != nil {
		t.Fatalf("the daemon never had 2 requests in flight: %v", err)
	}
	_ = d.cmd.Process.Kill()
	<-d.done
	if n := count(t, conn, `SELECT count(*) FROM deliveries WHERE status = 'sending'`); n != 2 {
		t.Fatalf("%d deliveries sending after the kill, want 2", n)
	}
	if n := count(t, conn, `SELECT count(*) FROM deliveries WHERE status = 'pending'`); n != 6 {
		t.Fatalf("%d deliveries pending after the kill, want 6", n)
	}

	before := dumpRows(t, conn)
	r := broadcaster(t, map[string]string{"DATABASE_URL": env["DATABASE_URL"]}, "demo", "--recipients", "10", "--fail-rate", "0")
	if r.code != 0 {
		t.Fatalf("demo with DATABASE_URL: %s", r)
	}
	if after := dumpRows(t, conn); after != before {
		t.Errorf("the demo changed DATABASE_URL's database:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	for _, want := range []string{"for 10 recipients, all the demo's own: 10 sent", "done in"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("demo output lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout+r.stderr, "wxid_real_") {
		t.Errorf("the demo mentions a real recipient: %s", r)
	}
	if strings.Contains(r.stdout, "throwaway") {
		t.Errorf("the demo started a throwaway server although DATABASE_URL is set: %s", r)
	}
	assertDemoDatabaseDropped(t, conn, r.stdout)
}

// A role that may not create databases gets a refusal, exit 2, and its
// database stays empty.
func TestDemoRefusesWithoutCREATEDB(t *testing.T) {
	t.Parallel()
	dbURL := dbtest.NewURL(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(ctx) })
	role := randomName(t, "demo_nocreatedb_")
	if _, err := conn.Exec(ctx, `CREATE ROLE `+role+` LOGIN NOCREATEDB PASSWORD 'nocreatedb'`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = conn.Exec(ctx, `DROP ROLE `+role) })
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(role, "nocreatedb")

	r := broadcaster(t, map[string]string{"DATABASE_URL": u.String()}, "demo", "--recipients", "5")
	if r.code != 2 {
		t.Fatalf("demo as a role without CREATEDB: %s\nwant exit 2", r)
	}
	want := `broadcaster demo: database.url: demo never writes to the database DATABASE_URL names, and cannot create ` +
		`a database of its own on that server: role "` + role + `" may not create databases (it lacks CREATEDB); ` +
		`grant it CREATEDB, or unset DATABASE_URL to use a throwaway PostgreSQL`
	if !strings.Contains(r.stderr, want) {
		t.Errorf("stderr lacks the refusal %q:\n%s", want, r)
	}
	if n := count(t, conn, `SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`); n != 0 {
		t.Errorf("the refused demo left %d tables in DATABASE_URL's database", n)
	}
}

// Ctrl-C in the middle of sending stops the demo, which still drops its
// database.
func TestDemoDropsItsDatabaseWhenInterrupted(t *testing.T) {
	dbURL := dbtest.NewURL(t)
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })

	cmd := exec.Command(binaryPath, "demo", "--recipients", "5000", "--fail-rate", "0")
	cmd.Dir = t.TempDir()
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "DATABASE_URL=" + dbURL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	var out strings.Builder
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && !strings.Contains(sc.Text(), "progress:") { // sending has begun
		out.WriteString(sc.Text() + "\n")
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatalf("Ctrl-C: %v; the demo said:\n%s", err, out.String())
	}
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("demo after Ctrl-C: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "interrupted") {
		t.Errorf("the demo was not interrupted mid-run:\n%s", out.String())
	}
	assertDemoDatabaseDropped(t, conn, out.String())
}

// assertDemoDatabaseDropped checks that the database named in the demo's
// output no longer exists.
func assertDemoDatabaseDropped(t *testing.T, conn *pgx.Conn, stdout string) {
	t.Helper()
	m := demoDatabaseRE.FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("the demo did not say which database it created:\n%s", stdout)
	}
	if n := count(t, conn, `SELECT count(*) FROM pg_database WHERE datname = $1`, m[1]); n != 0 {
		t.Errorf("the demo's database %s is still there after it exited", m[1])
	}
}

// insertRecipients inserts a one-shot campaign due now to n recipients
// named prefix1 … prefixN.
func insertRecipients(t *testing.T, conn *pgx.Conn, name, prefix string, n int) {
	t.Helper()
	_, err := conn.Exec(context.Background(), `
		WITH t AS (INSERT INTO applet_templates (name, img_url, content)
		           VALUES ($1, 'https://cdn.example.com/c.jpg', '<appmsg><title>hi</title></appmsg>') RETURNING id)
		INSERT INTO campaigns (name, template_id, w_id, recipients)
		SELECT $1, t.id, 'wid-real', array_agg($2 || g) FROM t, generate_series(1, $3::int) g GROUP BY t.id`,
		name, prefix, n)
	if err != nil {
		t.Fatal(err)
	}
}

// dumpRows returns every row of every table, in a stable order, and every
// sequence's position: equal dumps mean nothing was written.
func dumpRows(t *testing.T, conn *pgx.Conn) string {
	t.Helper()
	ctx := context.Background()
	rows, err := conn.Query(ctx, `
		SELECT format('SELECT coalesce(string_agg(r::text, E''\n'' ORDER BY r::text), '''') FROM %I.%I r', schemaname, tablename),
		       schemaname || '.' || tablename
		FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')
		ORDER BY schemaname, tablename`)
	if err != nil {
		t.Fatal(err)
	}
	type table struct{ Query, Name string }
	tables, err := pgx.CollectRows(rows, pgx.RowToStructByPos[table])
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, tb := range tables {
		var data string
		if err := conn.QueryRow(ctx, tb.Query).Scan(&data); err != nil {
			t.Fatalf("dump %s: %v", tb.Name, err)
		}
		b.WriteString("== " + tb.Name + "\n" + data + "\n")
	}
	var seqs string
	if err := conn.QueryRow(ctx, `SELECT coalesce(string_agg(format('%s.%s %s', schemaname, sequencename, last_value), E'\n'
		ORDER BY schemaname, sequencename), '') FROM pg_sequences`).Scan(&seqs); err != nil {
		t.Fatal(err)
	}
	b.WriteString("== sequences\n" + seqs + "\n")
	return b.String()
}

// randomName returns prefix with random hex appended, a name no concurrent
// test uses.
func randomName(t *testing.T, prefix string) string {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return prefix + hex.EncodeToString(b[:])
}

// Every command's help works and the overview names every command.
// The README's commands table names every command.
func TestREADMENamesEveryCommand(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range commands() {
		if !strings.Contains(string(readme), "\n| `"+c.name) {
			t.Errorf("README: the commands table lacks %s", c.name)
		}
	}
}

func TestHelpNamesEveryCommand(t *testing.T) {
	t.Parallel()
	top := broadcaster(t, nil, "--help")
	for _, c := range commands() {
		if !strings.Contains(top.stdout, "  "+c.name+" ") {
			t.Errorf("broadcaster --help does not list %s", c.name)
		}
		r := broadcaster(t, nil, c.name, "--help")
		if r.code != 0 || !strings.Contains(r.stdout, "usage: broadcaster [--config FILE] "+c.name) {
			t.Errorf("%s --help: %s", c.name, r)
		}
	}
}
