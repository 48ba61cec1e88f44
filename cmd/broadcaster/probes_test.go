package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/broadcaster/broadcaster/sender/sendertest"
)

// While its database refuses connections, the daemon stays live and is not
// ready; /healthz (as /readyz) says "database unreachable" and nothing about
// the connection, which goes to the log. Once the database is back, it is
// ready again.
func TestProbesDuringADatabaseOutage(t *testing.T) {
	t.Parallel()
	env, _, _ := daemonEnv(t, sendertest.Config{})
	env["BROADCASTER_HTTP_LISTEN"] = "127.0.0.1:0"
	d := startDaemon(t, env)
	base := "http://" + d.waitLog(t, "serving /healthz and /metrics")["addr"].(string)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, path := range []string{"/livez", "/readyz", "/healthz"} {
		waitProbe(ctx, t, base+path, http.StatusOK)
	}
	// The console is off unless http.console is set: nothing under /.
	for _, path := range []string{"/", "/runs", "/api/now", "/login"} {
		if code, _ := probe(t, base+path); code != http.StatusNotFound {
			t.Errorf("GET %s without http.console: %d, want 404", path, code)
		}
	}

	u, err := url.Parse(env["DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	dbName := strings.TrimPrefix(u.Path, "/")
	admin := *u // the server's maintenance database: a database cannot lock itself out
	admin.Path = "/postgres"
	conn, err := pgx.Connect(ctx, admin.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	setConnections(t, conn, dbName, false)
	t.Cleanup(func() { setConnections(t, conn, dbName, true) })

	for _, path := range []string{"/readyz", "/healthz"} {
		body := waitProbe(ctx, t, base+path, http.StatusServiceUnavailable)
		if !strings.HasPrefix(body, "database: database unreachable\n") {
			t.Errorf("GET %s during the outage: %q, want it to start with \"database: database unreachable\"", path, body)
		}
		for _, secret := range []string{dbName, u.User.Username(), u.Hostname(), u.Port()} {
			if strings.Contains(body, secret) {
				t.Errorf("GET %s tells %q: %q", path, secret, body)
			}
		}
	}
	if status, body := probe(t, base+"/livez"); status != http.StatusOK {
		t.Errorf("GET /livez during the outage = %d %q, want 200: a restart would not bring the database back", status, body)
	}
	// The detail is in the log (the first failures may be the ends of the
	// connections that the outage cut, rather than a refused connection).
	for !logged(d, func(line map[string]any) bool {
		cause, _ := line["cause"].(string)
		return line["message"] == "probe check failed" && strings.Contains(cause, dbName)
	}) {
		probe(t, base+"/healthz")
		select {
		case <-ctx.Done():
			t.Fatal("no failed check logged with the connection's detail")
		case <-time.After(50 * time.Millisecond):
		}
	}

	setConnections(t, conn, dbName, true)
	waitProbe(ctx, t, base+"/readyz", http.StatusOK)
	if code := d.stop(t); code != 0 {
		t.Errorf("exit %d after SIGTERM", code)
	}
}

// setConnections lets connections into database name, or refuses them and
// ends those open, as a database outage does.
func setConnections(t *testing.T, conn *pgx.Conn, name string, allow bool) {
	t.Helper()
	ctx := context.Background()
	if _, err := conn.Exec(ctx, fmt.Sprintf("ALTER DATABASE %s ALLOW_CONNECTIONS %t", pgx.Identifier{name}.Sanitize(), allow)); err != nil {
		t.Fatal(err)
	}
	if allow {
		return
	}
	if _, err := conn.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = $1`, name); err != nil {
		t.Fatal(err)
	}
}

// logged reports whether d has logged a line that matches.
func logged(d *daemon, match func(map[string]any) bool) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.ContainsFunc(d.lines, match)
}

// waitProbe polls url until it answers status, and returns the body.
func waitProbe(ctx context.Context, t *testing.T, url string, status int) string {
	t.Helper()
	for {
		got, body := probe(t, url)
		if got == status {
			return body
		}
		select {
		case <-ctx.Done():
			t.Fatalf("GET %s: %d %q, want %d", url, got, body, status)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func probe(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s: %v", url, err)
	}
	return resp.StatusCode, string(body)
}
