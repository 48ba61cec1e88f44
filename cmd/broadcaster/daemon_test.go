package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/broadcaster/broadcaster/internal/dbtest"
	"github.com/broadcaster/broadcaster/sender/sendertest"
)

// daemon is a running `broadcaster run` whose JSON log lines are collected.
type daemon struct {
	cmd   *exec.Cmd
	mu    sync.Mutex
	msgs  []string
	lines []map[string]any
	seen  chan struct{} // pinged on every log line
	done  chan error
}

func startDaemon(t *testing.T, env map[string]string) *daemon {
	t.Helper()
	cmd := exec.Command(binaryPath, "run")
	cmd.Dir = t.TempDir()
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "BROADCASTER_LOG_FORMAT=json", "BROADCASTER_LOG_LEVEL=debug"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &daemon{cmd: cmd, seen: make(chan struct{}, 1), done: make(chan error, 1)}
	go d.read(stderr)
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-d.done
		}
	})
	return d
}

func (d *daemon) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line map[string]any
		_ = json.Unmarshal(sc.Bytes(), &line)
		msg, _ := line["message"].(string)
		d.mu.Lock()
		d.msgs = append(d.msgs, msg)
		d.lines = append(d.lines, line)
		d.mu.Unlock()
		select {
		case d.seen <- struct{}{}:
		default:
		}
	}
	d.done <- d.cmd.Wait()
}

// waitLog waits for a log line whose message contains msg and returns it.
func (d *daemon) waitLog(t *testing.T, msg string) map[string]any {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		d.mu.Lock()
		for i, m := range d.msgs {
			if strings.Contains(m, msg) {
				line := d.lines[i]
				d.mu.Unlock()
				return line
			}
		}
		d.mu.Unlock()
		select {
		case <-d.seen:
		case <-deadline:
			d.mu.Lock()
			defer d.mu.Unlock()
			var errs []string
			for _, l := range d.lines {
				if e, ok := l["error"]; ok {
					errs = append(errs, fmt.Sprintf("%v: %v", l["message"], e))
				}
			}
			t.Fatalf("no log line %q within 60s; saw %q; errors %q", msg, d.msgs, errs)
		}
	}
}

// stop sends SIGTERM and returns the exit code.
func (d *daemon) stop(t *testing.T) int {
	t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-d.done:
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(60 * time.Second):
		t.Fatal("daemon did not stop within 60s of SIGTERM")
		return -1
	}
}

// daemonEnv is a migrated database, a fake API and the environment of a
// daemon using both.
func daemonEnv(t *testing.T, api sendertest.Config) (map[string]string, *sendertest.Server, *pgx.Conn) {
	t.Helper()
	api.Token = token
	srv, err := sendertest.Start(api)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	env := map[string]string{
		"DATABASE_URL":                       dbtest.NewURL(t),
		"BROADCASTER_API_BASE_URL":           srv.URL(),
		"BROADCASTER_API_TOKEN":              token,
		"BROADCASTER_RATE_LIMIT_PER_ACCOUNT": "0",
		"BROADCASTER_RATE_LIMIT_JITTER":      "0s",
	}
	if r := broadcaster(t, env, "migrate"); r.code != 0 {
		t.Fatalf("migrate: %s", r)
	}
	conn, err := pgx.Connect(context.Background(), env["DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return env, srv, conn
}

// insertCampaign inserts a one-shot campaign due now to n recipients.
func insertCampaign(t *testing.T, conn *pgx.Conn, name string, n int) int64 {
	t.Helper()
	var id int64
	err := conn.QueryRow(context.Background(), `
		WITH t AS (INSERT INTO applet_templates (name, img_url, content)
		           VALUES ($1, 'https://cdn.example.com/c.jpg', '<appmsg><title>hi</title></appmsg>') RETURNING id)
		INSERT INTO campaigns (name, template_id, w_id, recipients)
		SELECT $1, t.id, 'wid-d', array_agg('wxid_' || g) FROM t, generate_series(1, $2) g GROUP BY t.id
		RETURNING id`, name, n).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func count(t *testing.T, conn *pgx.Conn, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := conn.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSIGTERMFinishesAndRecordsInFlightSends(t *testing.T) {
	t.Parallel()
	env, api, conn := daemonEnv(t, sendertest.Config{Latency: 500 * time.Millisecond})
	env["BROADCASTER_WORKERS_CONCURRENCY"] = "4"
	insertCampaign(t, conn, "long", 40)
	d := startDaemon(t, env)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := api.Wait(ctx, func(s sendertest.Stats) bool { return s.InFlight == 4 }); err != nil {
		t.Fatalf("the daemon never had 4 requests in flight: %v", err)
	}
	if code := d.stop(t); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
	if n := count(t, conn, `SELECT count(*) FROM deliveries WHERE status = 'sending'`); n != 0 {
		t.Errorf("%d deliveries left sending", n)
	}
	sent := count(t, conn, `SELECT count(*) FROM deliveries WHERE status = 'sent'`)
	if st := api.Stats(); sent != st.Sent || sent < 4 || st.Unanswered != 0 {
		t.Errorf("recorded %d sent; the API sent %d and left %d unanswered (4 were in flight at SIGTERM)", sent, st.Sent, st.Unanswered)
	}
	if pending := count(t, conn, `SELECT count(*) FROM deliveries WHERE status = 'pending'`); pending+sent != 40 {
		t.Errorf("pending %d + sent %d != 40", pending, sent)
	}
}
