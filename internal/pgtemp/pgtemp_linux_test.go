package pgtemp

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// helperEnv makes the test binary, run again by
// TestKilledOwnerLeavesNoServer, act as the owner process to be killed.
const helperEnv = "PGTEMP_TEST_OWNER_BASE"

func TestKilledOwnerLeavesNoServer(t *testing.T) {
	if base := os.Getenv(helperEnv); base != "" {
		ownServerUntilKilled(base)
		return
	}
	t.Parallel()

	// A base directory every account can reach, unlike t.TempDir().
	base, err := os.MkdirTemp("", "pgtemp-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}

	owner := exec.Command(os.Args[0], "-test.run=^TestKilledOwnerLeavesNoServer$", "-test.count=1")
	owner.Env = append(os.Environ(), helperEnv+"="+base)
	stdin, err := owner.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := owner.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	owner.Stderr = os.Stderr
	if err := owner.Start(); err != nil {
		t.Fatal(err)
	}
	var pid int
	var dir string
	scanner := bufio.NewScanner(stdout)
	for scanner.Scan() {
		if _, err := fmt.Sscanf(scanner.Text(), "READY %d %s", &pid, &dir); err == nil {
			break
		}
	}
	if dir == "" {
		_ = owner.Process.Kill()
		_ = owner.Wait()
		t.Fatalf("owner process did not start a server (scan: %v)", scanner.Err())
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	if !serverAlive(dir) {
		t.Fatalf("server %d in %s not running before the kill", pid, dir)
	}

	if err := owner.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = owner.Wait()

	deadline := time.Now().Add(15 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for serverAlive(dir) {
		if time.Now().After(deadline) {
			t.Fatalf("server %d still running 15s after its owner was killed", pid)
		}
		<-tick.C
	}

	// The directory outlives the killed owner; the next Start's sweep
	// removes it.
	if _, err := os.Stat(filepath.Join(dir, lockName)); err != nil {
		t.Fatalf("expected the killed owner's directory to remain until a sweep: %v", err)
	}
	sweepStale(base)
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("sweep left %s: %v", dir, err)
	}
}

// ownServerUntilKilled starts a server under base, reports it on stdout and
// waits until stdin closes (which it does not, before the kill).
func ownServerUntilKilled(base string) {
	s, err := Start(context.Background(), Options{TempDir: base})
	if err != nil {
		fmt.Fprintln(os.Stderr, "owner:", err)
		os.Exit(1)
	}
	fmt.Printf("READY %d %s\n", s.proc.cmd.Process.Pid, s.Dir())
	_, _ = io.Copy(io.Discard, os.Stdin)
	_ = s.Stop()
	os.Exit(0)
}

func TestSweepKeepsLiveDirectories(t *testing.T) {
	t.Parallel()
	s := start(t, Options{})
	sweepStale(filepath.Dir(s.Dir()))
	if _, err := os.Stat(filepath.Join(s.Dir(), "data", "PG_VERSION")); err != nil {
		t.Fatalf("sweep touched a live server's directory: %v", err)
	}
	if !strings.HasPrefix(filepath.Base(s.Dir()), dirPrefix) {
		t.Errorf("server directory %s lacks the prefix the sweep looks for", s.Dir())
	}
}

// TestUnreachableTempDir checks that, as root, a TMPDIR the server's account
// cannot reach is passed over for /tmp, and an explicit one is refused.
func TestUnreachableTempDir(t *testing.T) {
	acct, err := serverAccount("")
	if err != nil {
		t.Fatal(err)
	}
	if acct == nil {
		t.Skip("only root switches accounts")
	}
	private := t.TempDir() // 0700, owned by root
	inner := filepath.Join(private, "inner")
	if err := os.Mkdir(inner, 0o777); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", inner)
	if got, err := chooseBase("", acct); err != nil || got != "/tmp" {
		t.Errorf("chooseBase with unreachable TMPDIR = %q, %v; want /tmp", got, err)
	}
	if _, err := chooseBase(inner, acct); err == nil {
		t.Error("chooseBase accepted an explicit directory the account cannot reach")
	}
	if !acct.canTraverse("/tmp") {
		t.Errorf("account %s cannot reach /tmp", acct.name)
	}
}
