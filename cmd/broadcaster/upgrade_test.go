package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/broadcaster/broadcaster/internal/dbtest"
	"github.com/broadcaster/broadcaster/sender/sendertest"
)

// firstRelease is the commit whose schema.sql is migration 1: the release
// that operators' databases were created with.
const firstRelease = "29f0a83"

// buildRelease builds broadcaster as it was at commit, from this checkout's
// git history. Without the history (a shallow clone, or a copy of the files)
// there is nothing to build, and the test says so and skips.
func buildRelease(t *testing.T, commit string) string {
	t.Helper()
	git := exec.Command("git", "archive", "--format=tar", commit)
	git.Dir = "../.." // the whole tree, not this directory's part of it
	archive, err := git.Output()
	if err != nil {
		msg := fmt.Sprintf("release %s is not in this checkout's git history (%v): clone the repository with its history to run this test", commit, err)
		if os.Getenv("CI") != "" {
			t.Fatal(msg) // CI clones with history: the upgrade proof must run there
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	untar := exec.Command("tar", "-x", "-C", dir)
	untar.Stdin = bytes.NewReader(archive)
	if out, err := untar.CombinedOutput(); err != nil {
		t.Fatalf("unpack release %s: %v\n%s", commit, err, out)
	}
	bin := filepath.Join(dir, "broadcaster-"+commit)
	build := exec.Command("go", "build", "-o", bin, "./cmd/broadcaster")
	build.Dir = dir
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build release %s: %v\n%s", commit, err, out)
	}
	return bin
}

// The upgrade path, with two binaries: a database the first release created
// and filled is migrated in place by this binary with nothing lost or
// reported differently, its deliveries kept in the legacy partition; the
// first release refuses the migrated database (migration 0006 partitions
// deliveries, which it cannot write: the upgrade stops the world), and this
// binary sends a new run, into a monthly partition.
func TestUpgradeFromFirstRelease(t *testing.T) {
	t.Parallel()
	old := buildRelease(t, firstRelease)
	ctx := context.Background()
	dbURL := dbtest.NewURL(t)
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `DROP SCHEMA public CASCADE; CREATE SCHEMA public`); err != nil {
		t.Fatal(err)
	}
	api, err := sendertest.Start(sendertest.Config{Token: token, FailFirst: 1, Faults: map[string]sendertest.Fault{
		"wxid_blocked": sendertest.Code("1002", "not friends"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	env := batchEnv(dbURL, api)
	mustRun(t, old, env, "migrate")
	first := upgradeCampaign(t, conn, "before the upgrade")
	mustRun(t, old, env, "run", "--once")
	runID := count(t, conn, `SELECT id FROM campaign_runs WHERE campaign_id = $1`, first)

	tables := []string{"applet_templates", "recipient_lists", "recipient_list_members", "suppressions",
		"campaigns", "campaign_runs", "deliveries", "delivery_attempts", "sending_accounts", "schema_version"}
	cols := tableColumns(t, conn, tables)
	before := snapshot(t, conn, cols)
	reports := [][]string{{"report", "--format", "json"}, {"report", "--run", fmt.Sprint(runID), "--format", "json"}}
	var oldReports []string
	for _, args := range reports {
		oldReports = append(oldReports, mustRun(t, old, env, args...).stdout)
	}

	status := mustRun(t, binaryPath, env, "migrate", "--status").stdout
	if !lineHas(status, "0001_initial.sql", "applied") {
		t.Errorf("migrate --status before the upgrade:\n%s", status)
	}
	prebuildIndexesFromREADME(t, conn)
	mustRun(t, binaryPath, env, "migrate")
	status = mustRun(t, binaryPath, env, "migrate", "--status").stdout
	if strings.Contains(status, "pending") {
		t.Errorf("migrate --status after the upgrade lists pending migrations:\n%s", status)
	}

	after := snapshot(t, conn, cols)
	// schema_version gains the row that makes the first release refuse.
	if v := after["schema_version"]; len(v) != 2 || !strings.HasPrefix(v[1], "(2,") {
		t.Errorf("schema_version after the upgrade: %v, want version 2 added", v)
	}
	after["schema_version"] = after["schema_version"][:1]
	for table, rows := range before {
		if strings.Join(rows, "\n") != strings.Join(after[table], "\n") {
			t.Errorf("%s: %d rows before the upgrade, %d after, or their values differ", table, len(rows), len(after[table]))
		}
	}
	for _, table := range []string{"deliveries", "delivery_attempts"} {
		legacy := count(t, conn, fmt.Sprintf(`SELECT count(*) FROM %s_legacy`, table))
		if legacy != len(before[table]) {
			t.Errorf("%s_legacy holds %d rows, want all %d from before the upgrade", table, legacy, len(before[table]))
		}
	}
	for i, args := range reports {
		sameReport(t, args, oldReports[i], mustRun(t, binaryPath, env, args...).stdout)
	}
	// The indexes built beforehand were adopted, not built a second time.
	if n := count(t, conn, `SELECT count(*) FROM pg_indexes WHERE tablename = 'deliveries_legacy'
		AND indexdef ~ '\((wc_id|w_id, sent_at)\)'`); n != 2 {
		t.Errorf("deliveries_legacy has %d indexes on (wc_id) or (w_id, sent_at), want the 2 built before the upgrade", n)
	}
	if n := count(t, conn, `SELECT count(*) FROM pg_inherits
		WHERE inhrelid IN ('deliveries_legacy_wc_id_idx'::regclass, 'deliveries_legacy_w_id_sent_idx'::regclass)`); n != 2 {
		t.Errorf("%d of the indexes built before the upgrade are partitions of the console's indexes, want 2", n)
	}

	// The first release refuses the migrated database, and sends nothing…
	if r := runBinary(t, old, env, "check"); r.code == 0 || !strings.Contains(r.stdout, "schema version 2") {
		t.Errorf("the first release's check should refuse schema version 2: %s", r)
	}
	second := upgradeCampaign(t, conn, "old binary after the upgrade")
	if r := runBinary(t, old, env, "run", "--once"); r.code == 0 {
		t.Errorf("the first release's run --once should refuse the migrated database: %s", r)
	}
	if n := count(t, conn, `SELECT count(*) FROM deliveries WHERE campaign_id = $1`, second); n != 0 {
		t.Errorf("the first release created %d deliveries after the upgrade", n)
	}
	// …which this binary sends, into the month's partition.
	mustRun(t, binaryPath, env, "check")
	mustRun(t, binaryPath, env, "run", "--once")
	for _, id := range []int64{first, second} {
		got := count(t, conn, `SELECT count(*) FROM deliveries WHERE campaign_id = $1 AND status = 'sent'`, id)
		if got != 4 {
			t.Errorf("campaign %d: %d deliveries sent, want 4", id, got)
		}
	}
	if n := count(t, conn, `SELECT count(*) FROM deliveries WHERE campaign_id = $1 AND tableoid::regclass::text NOT LIKE 'deliveries_p%'`, second); n != 0 {
		t.Errorf("%d deliveries of the new run are outside a monthly partition", n)
	}
	// The first run's report is still the same with a run beside it.
	sameReport(t, reports[1], oldReports[1], mustRun(t, binaryPath, env, reports[1]...).stdout)
}

// upgradeCampaign inserts a due campaign of six recipients the way operators
// do: four are sent (after one 1001 each), one fails (1002), one is
// suppressed.
func upgradeCampaign(t *testing.T, conn *pgx.Conn, name string) int64 {
	t.Helper()
	var id int64
	err := conn.QueryRow(context.Background(), `
		WITH t AS (INSERT INTO applet_templates (name, img_url, content)
		           VALUES ($1, 'http://photocdn.sohu.com/20120323/Img338614056.jpg', $2) RETURNING id),
		     l AS (INSERT INTO recipient_lists (name) VALUES ($1) RETURNING id),
		     m AS (INSERT INTO recipient_list_members (list_id, wc_id)
		           SELECT l.id, unnest(ARRAY['wxid_c', '123@chatroom', 'wxid_quiet']) FROM l),
		     s AS (INSERT INTO suppressions (wc_id, reason) VALUES ('wxid_quiet', 'opted out') ON CONFLICT DO NOTHING)
		INSERT INTO campaigns (name, template_id, w_id, recipients, list_ids)
		SELECT $1, t.id, 'wid-upgrade', ARRAY['wxid_a', 'wxid_b', 'wxid_blocked'], ARRAY[l.id] FROM t, l
		RETURNING id`, name, seedAppMsg).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func mustRun(t *testing.T, bin string, env map[string]string, args ...string) result {
	t.Helper()
	r := runBinary(t, bin, env, args...)
	if r.code != 0 {
		t.Fatalf("%s %v: %s", filepath.Base(bin), args, r)
	}
	return r
}

// tableColumns lists each table's columns as they are now: the upgrade may
// add columns, never change what was there, so rows are compared through
// the columns they had before.
func tableColumns(t *testing.T, conn *pgx.Conn, tables []string) map[string]string {
	t.Helper()
	cols := map[string]string{}
	for _, table := range tables {
		var c string
		err := conn.QueryRow(context.Background(), `SELECT string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position)
			FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1`, table).Scan(&c)
		if err != nil {
			t.Fatal(err)
		}
		cols[table] = c
	}
	return cols
}

// snapshot reads every row of every table, through cols, as text.
func snapshot(t *testing.T, conn *pgx.Conn, cols map[string]string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for table, c := range cols {
		rows, err := conn.Query(context.Background(), fmt.Sprintf(`SELECT ROW(%s)::text FROM %s ORDER BY 1`, c, table))
		if err != nil {
			t.Fatalf("snapshot %s: %v", table, err)
		}
		vals, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("snapshot %s: %v", table, err)
		}
		if len(vals) == 0 {
			t.Fatalf("%s is empty: the test must fill every table", table)
		}
		out[table] = vals
	}
	return out
}

// sameReport compares a report before and after the upgrade: every field the
// first release printed has the same value (a later release may add fields).
func sameReport(t *testing.T, args []string, before, after string) {
	t.Helper()
	var b, a any
	if err := json.Unmarshal([]byte(before), &b); err != nil {
		t.Fatalf("%v before: %v\n%s", args, err, before)
	}
	if err := json.Unmarshal([]byte(after), &a); err != nil {
		t.Fatalf("%v after: %v\n%s", args, err, after)
	}
	for _, diff := range missingFrom(b, a, "") {
		t.Errorf("%v: %s", args, diff)
	}
}

// missingFrom lists where want holds something got does not: a value that
// differs, or is absent.
func missingFrom(want, got any, path string) []string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{path + ": not an object after"}
		}
		var out []string
		for k, v := range w {
			out = append(out, missingFrom(v, g[k], path+"."+k)...)
		}
		return out
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return []string{fmt.Sprintf("%s: %d items before, %v after", path, len(w), got)}
		}
		var out []string
		for i := range w {
			out = append(out, missingFrom(w[i], g[i], fmt.Sprintf("%s[%d]", path, i))...)
		}
		return out
	default:
		if fmt.Sprint(want) != fmt.Sprint(got) {
			return []string{fmt.Sprintf("%s: %v before, %v after", path, want, got)}
		}
		return nil
	}
}

// lineHas reports whether one line of text holds every word.
func lineHas(text string, words ...string) bool {
	for _, line := range strings.Split(text, "\n") {
		ok := true
		for _, w := range words {
			ok = ok && strings.Contains(line, w)
		}
		if ok {
			return true
		}
	}
	return false
}

// prebuildIndexesFromREADME runs the README's advice for large databases
// (Upgrading, 0011): the console's indexes built CONCURRENTLY on the
// first release's table, one statement at a time, as psql would.
func prebuildIndexesFromREADME(t *testing.T, conn *pgx.Conn) {
	t.Helper()
	block := readmeBlock(t, "Upgrading", "sql-concurrently")
	for _, stmt := range strings.Split(block, ";") {
		if stmt = strings.TrimSpace(stmt); stmt != "" {
			if _, err := conn.Exec(context.Background(), stmt); err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
		}
	}
}

// readmeBlock returns the first code block of language lang in the
// README's section headed "## title": the text the tests run as an
// operator would.
func readmeBlock(t *testing.T, title, lang string) string {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	section := regexp.MustCompile("(?s)\n## " + regexp.QuoteMeta(title) + "\n(.*?)\n## ").FindSubmatch(readme)
	if section == nil {
		t.Fatalf("README has no %s section", title)
	}
	block := regexp.MustCompile("(?s)```" + regexp.QuoteMeta(lang) + "\n(.*?)```").FindSubmatch(section[1])
	if block == nil {
		t.Fatalf("the README's %s section shows no %s block", title, lang)
	}
	return string(block[1])
}
