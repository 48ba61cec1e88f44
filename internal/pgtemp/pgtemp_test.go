package pgtemp

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func start(t *testing.T, opts Options) *Server {
	t.Helper()
	begin := time.Now()
	s, err := Start(t.Context(), opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Logf("server started in %v at %s", time.Since(begin).Round(time.Millisecond), s.Dir())
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return s
}

func TestStartConnectStop(t *testing.T) {
	t.Parallel()
	s := start(t, Options{})
	ctx := t.Context()

	conn, err := pgx.Connect(ctx, s.URL())
	if err != nil {
		t.Fatalf("connect to %s: %v", s.URL(), err)
	}
	var db, fsync, maxConns string
	err = conn.QueryRow(ctx, "SELECT current_database(), current_setting('fsync'), current_setting('max_connections')").Scan(&db, &fsync, &maxConns)
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	if db != "postgres" || fsync != "off" || maxConns != "200" {
		t.Errorf("got database %q, fsync %q, max_connections %q; want postgres, off, 200", db, fsync, maxConns)
	}
	if _, err := os.Stat(filepath.Join(s.Dir(), "data", "PG_VERSION")); err != nil {
		t.Fatalf("data directory: %v", err)
	}

	// The connection is left open: it must not keep Stop from finishing.
	if err := s.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if _, err := os.Stat(s.Dir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("server directory still there after Stop: %v", err)
	}
	if err := conn.Ping(ctx); err == nil {
		t.Error("connection still works after Stop")
	}
	_ = conn.Close(ctx)
	if err := s.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestDatabaseOption(t *testing.T) {
	t.Parallel()
	s := start(t, Options{Database: "demo", MaxConnections: 30})
	conn, err := pgx.Connect(t.Context(), s.URL())
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.Background())
	var db string
	if err := conn.QueryRow(t.Context(), "SELECT current_database()").Scan(&db); err != nil {
		t.Fatalf("query: %v", err)
	}
	if db != "demo" {
		t.Errorf("URL %s leads to database %q, want demo", s.URL(), db)
	}
}

// Settings override the defaults, and PID names the postmaster the server
// reports.
func TestSettingsAndPID(t *testing.T) {
	t.Parallel()
	s := start(t, Options{Settings: map[string]string{"full_page_writes": "on", "work_mem": "7MB"}})
	conn, err := pgx.Connect(t.Context(), s.URL())
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.Background())
	var fpw, workMem string
	var pid int
	err = conn.QueryRow(t.Context(), `SELECT current_setting('full_page_writes'), current_setting('work_mem'),
		(SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer')`).Scan(&fpw, &workMem, &pid)
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	if fpw != "on" || workMem != "7MB" {
		t.Errorf("full_page_writes %q, work_mem %q; want on, 7MB", fpw, workMem)
	}
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	if ppid, _ := strconv.Atoi(fields[1]); ppid != s.PID() {
		t.Errorf("checkpointer's parent is %d, PID says %d", ppid, s.PID())
	}
}

// A halted server refuses connections; resumed, it answers at the same URL
// with its data intact, as a restarted production database would.
func TestHaltAndResumeKeepDataAndURL(t *testing.T) {
	t.Parallel()
	s := start(t, Options{Database: "kept"})
	ctx := t.Context()
	url := s.URL()
	exec := func(sql string) error {
		t.Helper()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			return err
		}
		defer conn.Close(context.Background())
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := exec(`CREATE TABLE t AS SELECT 42 AS v`); err != nil {
		t.Fatal(err)
	}
	held, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close(context.Background())

	for range 2 { // a second Halt does nothing
		if err := s.Halt(); err != nil {
			t.Fatalf("Halt: %v", err)
		}
	}
	if err := held.Ping(ctx); err == nil {
		t.Error("an open connection still works after Halt")
	}
	if err := exec(`SELECT 1`); err == nil {
		t.Error("a new connection works after Halt")
	}
	for range 2 { // a second Resume does nothing
		if err := s.Resume(ctx); err != nil {
			t.Fatalf("Resume: %v", err)
		}
	}
	if s.URL() != url {
		t.Errorf("URL after Resume = %s, want %s", s.URL(), url)
	}
	if err := exec(`DO $$ BEGIN IF (SELECT v FROM t) <> 42 THEN RAISE 'lost'; END IF; END $$`); err != nil {
		t.Errorf("data after Resume: %v", err)
	}
	if err := s.Halt(); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err != nil { // Stop of a halted server removes it
		t.Fatalf("Stop after Halt: %v", err)
	}
	if _, err := os.Stat(s.Dir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("server directory still there after Stop: %v", err)
	}
}

func TestNoPostgres(t *testing.T) {
	empty := t.TempDir()
	_, err := Start(t.Context(), Options{BinDir: empty})
	if !errors.Is(err, ErrNoPostgres) {
		t.Errorf("Start with empty BinDir: got %v, want ErrNoPostgres", err)
	}

	t.Setenv("PG_BIN", empty)
	if _, err := findBinDir(""); !errors.Is(err, ErrNoPostgres) {
		t.Errorf("findBinDir with empty PG_BIN: got %v, want ErrNoPostgres", err)
	}
}

func TestNewestDebianBinDir(t *testing.T) {
	root := t.TempDir()
	for _, v := range []string{"9.6", "13", "15", "16"} {
		bin := filepath.Join(root, v, "bin")
		if err := os.MkdirAll(bin, 0o755); err != nil {
			t.Fatal(err)
		}
		if v == "16" {
			continue // a version without server binaries is skipped
		}
		for _, name := range []string{"initdb", "postgres"} {
			if err := os.WriteFile(filepath.Join(bin, name), nil, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got, want := newestDebianBinDir(root), filepath.Join(root, "15", "bin"); got != want {
		t.Errorf("newestDebianBinDir = %q, want %q", got, want)
	}
	if got := newestDebianBinDir(filepath.Join(root, "missing")); got != "" {
		t.Errorf("newestDebianBinDir of a missing root = %q, want empty", got)
	}
}

func TestTail(t *testing.T) {
	log := strings.Repeat("line\n", 50) + "last\n"
	lines := strings.Split(tail([]byte(log)), "\n")
	if len(lines) != 20 || lines[19] != "last" {
		t.Errorf("tail kept %d lines ending in %q, want 20 ending in \"last\"", len(lines), lines[len(lines)-1])
	}
}

// TestTakenPortIsRetried checks that a server losing its port is reported
// as errPortTaken, which Start retries with another port.
func TestTakenPortIsRetried(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	s, err := initServer(t.Context(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop() })
	s.maxConns = 10
	err = s.startServer(t.Context(), l.Addr().(*net.TCPAddr).Port)
	if !errors.Is(err, errPortTaken) {
		t.Fatalf("starting on a taken port: got %v, want errPortTaken", err)
	}
	if !strings.Contains(err.Error(), "server log") {
		t.Errorf("error lacks the server log: %v", err)
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.startServer(t.Context(), port); err != nil {
		t.Fatalf("retry on a free port: %v", err)
	}
}

func TestLostPortRace(t *testing.T) {
	for log, want := range map[string]bool{
		"LOG:  could not bind IPv4 address \"127.0.0.1\": Address already in use\nFATAL:  could not create any TCP/IP sockets\n": true,
		"FATAL:  could not create lock file \"/tmp/pgtemp-1/.s.PGSQL.5432.lock\": File exists\n":                                 true,
		"FATAL:  could not create lock file \"postmaster.pid\": Permission denied\n":                                             false,
		"FATAL:  data directory \"/tmp/x/data\" has invalid permissions\n":                                                       false,
	} {
		if got := lostPortRace([]byte(log)); got != want {
			t.Errorf("lostPortRace(%q) = %v, want %v", log, got, want)
		}
	}
}
