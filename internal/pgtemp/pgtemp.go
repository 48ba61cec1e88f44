// Package pgtemp starts a throwaway PostgreSQL server from the locally
// installed binaries and removes it afterwards. Tests use it (through
// internal/dbtest) when no TEST_DATABASE_URL is given, and `broadcaster demo`
// uses it so that a newcomer needs no database set up.
//
// It is written here rather than taken from an existing helper because none
// of the maintained ones does everything this project needs:
// github.com/stapelberg/postgrestest daemonizes with pg_ctl (a killed test
// binary leaves the server running) and cannot run as root;
// github.com/rubenv/pgtest starts postgres as a child but neither drops root
// privileges nor ties the server's life to the test process, and both go
// through database/sql and lib/pq instead of pgx;
// github.com/fergusstrange/embedded-postgres downloads binaries, which this
// project's machines cannot do.
//
// What it does instead: initdb and postgres run as direct children (postgres
// is never daemonized), with a parent-death signal on Linux so that the server
// dies with the process even on SIGKILL; as root they run as an unprivileged
// account, because initdb and postgres refuse to run as root; each server's
// directory holds a lock that its process keeps, so directories left by a
// killed process are removed by the next Start.
//
// A server can be halted and resumed on the same data directory and port
// (Halt, Resume), so that a test can take the database away from a program
// under test and give it back, as a database restart would.
package pgtemp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrNoPostgres is returned by Start when no PostgreSQL server binaries can be
// found, so that callers can tell "not installed" apart from a server that
// failed to start. Its message is the one-line fix for a newcomer.
var ErrNoPostgres = errors.New("PostgreSQL server binaries (initdb, postgres) not found: install them with `apt-get install postgresql`, or set PG_BIN to their directory")

// dirPrefix names every server directory, so that Start can find the ones
// left behind by killed processes.
const dirPrefix = "pgtemp-"

// lockName is the file in a server directory that the owning process keeps
// locked for as long as it lives.
const lockName = "owner.lock"

// logName is the file in a server directory that receives the server's
// output, shown in startup errors and kept for debugging until Stop.
const logName = "server.log"

// startAttempts bounds the retries when the port picked for the server is
// taken by someone else before the server binds it.
const startAttempts = 5

// Options tunes a throwaway server. The zero value is what tests want.
type Options struct {
	// BinDir is the directory holding initdb and postgres. Empty means: the
	// PG_BIN environment variable, else initdb found in PATH, else the
	// highest version under /usr/lib/postgresql/*/bin (Debian's layout,
	// which is not in PATH).
	BinDir string

	// TempDir is where the server's directory is created. Empty means
	// os.TempDir(), or /tmp when the server's account (see User) could not
	// reach that.
	TempDir string

	// User is the account that runs the server when the process runs as
	// root, which initdb and postgres refuse to be. Empty means "postgres"
	// when that account exists, else "nobody". Ignored when not root.
	User string

	// Database, when set, is created once the server is up, and URL points
	// to it instead of the "postgres" database.
	Database string

	// MaxConnections is the server's max_connections. Zero means 200, enough
	// for parallel tests that each hold a pool.
	MaxConnections int

	// Settings are server settings ("full_page_writes": "on") passed after
	// the defaults below, so they override them: a benchmark whose WAL
	// figures must be production's turns full_page_writes back on.
	Settings map[string]string

	// StartTimeout bounds initdb plus the wait for the server to accept
	// connections, on top of any deadline of Start's context. Zero means 60s,
	// generous for a loaded two-core machine.
	StartTimeout time.Duration
}

// Server is a running throwaway PostgreSQL server. Stop it when done; if the
// process dies first, the server dies with it (on Linux), and its directory
// is removed by the next Start.
type Server struct {
	dir  string
	bin  string   // where initdb and postgres are
	acct *account // who runs them; nil for this process's own user
	url  string
	lock *dirLock

	// Kept so that Resume starts the server exactly where it was.
	port     int
	maxConns int
	settings map[string]string
	dbName   string // the database URL names: "postgres" or Options.Database

	mu   sync.Mutex // guards proc against Halt, Resume and Stop at once
	proc *child     // nil while halted

	stopOnce sync.Once
	stopErr  error
}

// URL returns a postgres:// URL for the server's superuser "postgres"
// (trust authentication, no password) over TCP on 127.0.0.1, to the
// "postgres" database or to Options.Database. pgx and psql accept it.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.url
}

// PID returns the process id of the server's postmaster, 0 while halted.
// Its backends are its children, so a benchmark can add up the CPU the
// whole server spent.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return 0
	}
	return s.proc.cmd.Process.Pid
}

// Dir returns the server's directory: the data directory "data", the Unix
// socket and the server log "server.log" are inside. Stop removes it.
func (s *Server) Dir() string { return s.dir }

// Stop shuts the server down (immediately: its data is thrown away anyway)
// and removes its directory. It is safe to call more than once; later calls
// return the first call's result.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() { s.stopErr = s.stop() })
	return s.stopErr
}

func (s *Server) stop() error {
	var errs []error
	s.mu.Lock()
	if s.proc != nil {
		if err := s.proc.shutdown(quit, 10*time.Second); err != nil {
			errs = append(errs, err)
		}
		s.proc = nil
	}
	s.mu.Unlock()
	if err := os.RemoveAll(s.dir); err != nil {
		errs = append(errs, fmt.Errorf("remove server directory: %w", err))
	}
	// Unlock last, so that no other process's Start sweeps the directory
	// while the server still runs in it.
	s.lock.release()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("pgtemp: stop: %w", err)
	}
	return nil
}

// Halt shuts the server down as a restart of a production database would
// (a fast shutdown: every session is ended, every commit kept), but keeps
// its data directory and port, so that Resume brings the same databases
// back at the same URL. Tests use it to take the database away from a
// running program. Halting a halted server does nothing.
func (s *Server) Halt() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return nil
	}
	err := s.proc.shutdown(interrupt, 10*time.Second)
	s.proc = nil
	if err != nil {
		return fmt.Errorf("pgtemp: halt: %w", err)
	}
	return nil
}

// Resume starts a halted server again on its data directory and port, and
// returns once it accepts connections (after crash recovery). Resuming a
// running server does nothing. It fails, rather than move, if another
// program took the port meanwhile: clients hold the old URL.
func (s *Server) Resume(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		select {
		case <-s.proc.done: // died on its own: start it again
		default:
			return nil
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := s.startServer(ctx, s.port); err != nil {
		return fmt.Errorf("pgtemp: resume: %w", err)
	}
	return nil
}

// Start initializes a fresh data directory, starts a server on a free
// 127.0.0.1 port and returns once it accepts connections. The server is
// tuned for speed, not durability (fsync, synchronous_commit and
// full_page_writes off). It returns an error wrapping ErrNoPostgres when the
// binaries are missing; other startup errors include the tail of the
// server's log.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 60 * time.Second
	}
	if opts.MaxConnections == 0 {
		opts.MaxConnections = 200
	}
	ctx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()

	s, err := initServer(ctx, opts)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			_ = s.Stop()
		}
	}()
	s.maxConns = opts.MaxConnections
	s.settings = maps.Clone(opts.Settings)
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, fmt.Errorf("pgtemp: %w", err)
		}
		s.mu.Lock()
		err = s.startServer(ctx, port)
		s.mu.Unlock()
		if err == nil {
			break
		}
		if !errors.Is(err, errPortTaken) || attempt == startAttempts {
			return nil, fmt.Errorf("pgtemp: %w", err)
		}
	}
	if opts.Database != "" {
		if err := s.createDatabase(ctx, opts.Database); err != nil {
			return nil, fmt.Errorf("pgtemp: %w", err)
		}
	}
	ok = true
	return s, nil
}

// initServer makes a server directory with an initialized data directory,
// ready for startServer; on error it leaves nothing behind.
func initServer(ctx context.Context, opts Options) (_ *Server, err error) {
	bin, err := findBinDir(opts.BinDir)
	if err != nil {
		return nil, err
	}
	acct, err := serverAccount(opts.User)
	if err != nil {
		return nil, fmt.Errorf("pgtemp: %w", err)
	}
	base, err := chooseBase(opts.TempDir, acct)
	if err != nil {
		return nil, fmt.Errorf("pgtemp: %w", err)
	}
	sweepStale(base)

	dir, err := os.MkdirTemp(base, dirPrefix)
	if err != nil {
		return nil, fmt.Errorf("pgtemp: create server directory: %w", err)
	}
	s := &Server{dir: dir, bin: bin, acct: acct, dbName: "postgres"}
	defer func() {
		if err != nil {
			_ = s.Stop()
		}
	}()
	if s.lock, err = lockDir(dir); err != nil {
		return nil, fmt.Errorf("pgtemp: %w", err)
	}
	if err := acct.own(dir); err != nil {
		return nil, fmt.Errorf("pgtemp: %w", err)
	}
	if err := s.initdb(ctx); err != nil {
		return nil, fmt.Errorf("pgtemp: %w", err)
	}
	return s, nil
}

// findBinDir returns the directory holding initdb and postgres, searched in
// the order documented on Options.BinDir.
func findBinDir(explicit string) (string, error) {
	if explicit == "" {
		explicit = os.Getenv("PG_BIN")
	}
	if explicit != "" {
		if !hasServerBinaries(explicit) {
			return "", fmt.Errorf("%w (not in %s)", ErrNoPostgres, explicit)
		}
		return explicit, nil
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		// Prefer the directory the link points into: postgres lives next
		// to the real initdb even where only initdb is linked into PATH.
		if real, err := filepath.EvalSymlinks(p); err == nil && hasServerBinaries(filepath.Dir(real)) {
			return filepath.Dir(real), nil
		}
		if hasServerBinaries(filepath.Dir(p)) {
			return filepath.Dir(p), nil
		}
	}
	if dir := newestDebianBinDir("/usr/lib/postgresql"); dir != "" {
		return dir, nil
	}
	return "", ErrNoPostgres
}

// newestDebianBinDir returns root/<version>/bin for the highest numeric
// version that has the server binaries, or "" if there is none.
func newestDebianBinDir(root string) string {
	entries, err := os.ReadDir(root)
	if err != nil {
		return ""
	}
	best, bestVer := "", -1.0
	for _, e := range entries {
		v, err := strconv.ParseFloat(e.Name(), 64) // "15", or "9.6" on old systems
		dir := filepath.Join(root, e.Name(), "bin")
		if err != nil || v <= bestVer || !hasServerBinaries(dir) {
			continue
		}
		best, bestVer = dir, v
	}
	return best
}

func hasServerBinaries(dir string) bool {
	for _, name := range []string{"initdb", "postgres"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
			return false
		}
	}
	return true
}

// command builds a command for a PostgreSQL program that runs as s.acct,
// in the server directory (the caller's working directory may be unreadable
// to that account), in the C locale and without the PG* variables that
// could point it elsewhere.
func (s *Server) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(s.bin, name), args...)
	cmd.Dir = s.dir
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "PG") || strings.HasPrefix(kv, "LC_") || strings.HasPrefix(kv, "LANG=")
	})
	cmd.Env = append(env, "LC_ALL=C")
	cmd.SysProcAttr = sysProcAttr(s.acct)
	return cmd
}

func (s *Server) initdb(ctx context.Context) error {
	var out bytes.Buffer
	cmd := s.command("initdb",
		"--pgdata="+filepath.Join(s.dir, "data"),
		"--username=postgres",
		"--auth=trust",
		"--encoding=UTF8",
		"--locale=C",
		"--no-sync",
	)
	cmd.Stdout, cmd.Stderr = &out, &out
	p, err := startChild(cmd)
	if err != nil {
		return fmt.Errorf("initdb: %w", err)
	}
	select {
	case <-p.done:
	case <-ctx.Done():
		_ = p.kill()
		<-p.done
		return fmt.Errorf("initdb: %w", ctx.Err())
	}
	if p.err != nil {
		return fmt.Errorf("initdb: %w: %s", p.err, tail(out.Bytes()))
	}
	return nil
}

// errPortTaken reports that the server lost the race for its port, and
// another one should be tried.
var errPortTaken = errors.New("port taken")

// lostPortRace tells from the server's log whether it failed because its
// port, or the Unix socket lock file named after the port, was taken.
func lostPortRace(log []byte) bool {
	for _, line := range strings.Split(string(log), "\n") {
		if strings.Contains(line, "could not bind") ||
			strings.Contains(line, "could not create any TCP/IP sockets") ||
			strings.Contains(line, "could not create lock file") && strings.Contains(line, ".s.PGSQL.") {
			return true
		}
	}
	return false
}

// startServer starts postgres on port and waits until it is ready. It
// returns an error wrapping errPortTaken if the port was not free. The
// caller holds s.mu.
func (s *Server) startServer(ctx context.Context, port int) error {
	logPath := filepath.Join(s.dir, logName)
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("open server log: %w", err)
	}
	// The child has its own copy of the descriptor once started.
	defer logFile.Close()

	args := []string{
		"-D", filepath.Join(s.dir, "data"),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "port=" + strconv.Itoa(port),
		"-c", "unix_socket_directories=" + s.dir,
		"-c", "max_connections=" + strconv.Itoa(s.maxConns),
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "logging_collector=off",
	}
	for _, name := range slices.Sorted(maps.Keys(s.settings)) {
		args = append(args, "-c", name+"="+s.settings[name]) // the last -c of a name wins
	}
	cmd := s.command("postgres", args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	p, err := startChild(cmd)
	if err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	s.proc, s.port = p, port
	s.url = serverURL(port, s.dbName)

	err = s.waitReady(ctx)
	if err == nil {
		return nil
	}
	_ = p.shutdown(quit, 5*time.Second)
	s.proc = nil
	logText, _ := os.ReadFile(logPath)
	if lostPortRace(logText) {
		err = fmt.Errorf("%w: %d", errPortTaken, port)
	}
	return fmt.Errorf("%w\nserver log %s:\n%s", err, logPath, tail(logText))
}

// serverURL is the URL of database name on the server at port.
func serverURL(port int, name string) string {
	return (&url.URL{
		Scheme:   "postgres",
		User:     url.User("postgres"),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		Path:     "/" + name,
		RawQuery: "sslmode=disable",
	}).String()
}

// waitReady connects until the server accepts a connection, the server
// exits, or ctx ends.
func (s *Server) waitReady(ctx context.Context) error {
	// Abandon a connection attempt as soon as the server exits: the port
	// may belong to another program that never answers.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	proc := s.proc // the watcher may outlive this call, and Stop clears s.proc
	go func() {
		select {
		case <-proc.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	backoff := 5 * time.Millisecond
	for {
		err := s.isOurs(ctx)
		if err == nil {
			return nil
		}
		timer := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
		case <-timer.C:
			backoff = min(2*backoff, 100*time.Millisecond)
			continue
		}
		timer.Stop()
		select {
		case <-proc.done:
			return fmt.Errorf("postgres exited during startup: %v", proc.err)
		default:
			return fmt.Errorf("postgres not ready: %w (last error: %v)", ctx.Err(), err)
		}
	}
}

// isOurs connects to the server's URL and checks that the server answering
// runs on this data directory: if another server took the port first, this
// one is about to exit, and that one must not be mistaken for it.
func (s *Server) isOurs(ctx context.Context) error {
	attempt, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	conn, err := pgx.Connect(attempt, s.url)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	var dataDir string
	if err := conn.QueryRow(attempt, "SELECT current_setting('data_directory')").Scan(&dataDir); err != nil {
		return err
	}
	if want := filepath.Join(s.dir, "data"); dataDir != want {
		return fmt.Errorf("port answered by the server of %s, not %s", dataDir, want)
	}
	return nil
}

func (s *Server) createDatabase(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, s.url)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	s.dbName = name
	s.url = serverURL(s.port, name)
	return nil
}

// freePort asks the kernel for a free TCP port on 127.0.0.1. Someone else
// may take it before the server binds it; startServer then retries.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	return port, nil
}

// tail returns the last lines of a log, enough to show why a server failed
// without flooding the test output.
func tail(b []byte) string {
	const maxLines, maxBytes = 20, 4000
	s := strings.TrimRight(string(b), "\n")
	if len(s) > maxBytes {
		s = s[len(s)-maxBytes:]
	}
	lines := strings.Split(s, "\n")
	if len(lines) > maxLines {
		lines = lines[len(lines)-maxLines:]
	}
	return strings.Join(lines, "\n")
}

// child is a started process whose exit is observed by one goroutine.
type child struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once the process has exited
	err  error         // the result of Wait; read only after done is closed
}

// startChild starts cmd from a goroutine locked to its OS thread, which
// stays alive until the child exits. Linux sends the parent-death signal
// when the thread that forked the child ends, not the process; a locked
// thread is never reused or retired by the Go runtime while locked, so the
// signal comes exactly when the child's watcher, or the whole process, dies.
func startChild(cmd *exec.Cmd) (*child, error) {
	c := &child{cmd: cmd, done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		// Never unlocked: the thread ends with this goroutine, after the
		// child is gone.
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		c.err = cmd.Wait()
		close(c.done)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return c, nil
}

func (c *child) kill() error { return c.cmd.Process.Kill() }

// shutdown asks the process to quit with ask (for postgres, quit is the
// immediate shutdown, which also ends its backends; interrupt the fast
// one), and kills it if it has not exited after grace.
func (c *child) shutdown(ask func(*os.Process) error, grace time.Duration) error {
	select {
	case <-c.done:
		return nil
	default:
	}
	if err := ask(c.cmd.Process); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal postgres: %w", err)
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-c.done:
		return nil
	case <-timer.C:
	}
	if err := c.kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kill postgres: %w", err)
	}
	<-c.done
	return fmt.Errorf("postgres ignored shutdown for %v and was killed", grace)
}
