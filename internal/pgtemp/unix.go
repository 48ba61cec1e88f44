//go:build unix

package pgtemp

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// maxSocketPath is the longest Unix socket path the kernel accepts
// (sun_path is 108 bytes on Linux, 104 on the BSDs; the smaller wins).
const maxSocketPath = 103

// socketSuffix is the longest name the server gives its socket, after a
// directory name made by os.MkdirTemp.
const socketSuffix = "/" + dirPrefix + "0123456789/.s.PGSQL.65535"

// account is the unprivileged user that runs initdb and postgres when this
// process is root. A nil *account means "run as ourselves".
type account struct {
	name     string
	uid, gid uint32
}

// serverAccount returns nil unless running as root; as root it returns the
// named account, or "postgres", or "nobody", whichever exists first.
func serverAccount(name string) (*account, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	names := []string{"postgres", "nobody"}
	if name != "" {
		names = []string{name}
	}
	var errs []error
	for _, n := range names {
		u, err := user.Lookup(n)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		uid, err := strconv.ParseUint(u.Uid, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("account %s: uid %q: %w", n, u.Uid, err)
		}
		gid, err := strconv.ParseUint(u.Gid, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("account %s: gid %q: %w", n, u.Gid, err)
		}
		if uid == 0 {
			return nil, fmt.Errorf("account %s is root, which initdb and postgres refuse to run as", n)
		}
		return &account{name: n, uid: uint32(uid), gid: uint32(gid)}, nil
	}
	return nil, fmt.Errorf("running as root and no unprivileged account to run PostgreSQL as: %w", errors.Join(errs...))
}

// own hands path to the account, so that initdb can create the data
// directory and postgres its socket in it.
func (a *account) own(path string) error {
	if a == nil {
		return nil
	}
	if err := os.Chown(path, int(a.uid), int(a.gid)); err != nil {
		return fmt.Errorf("hand %s to account %s: %w", path, a.name, err)
	}
	return nil
}

// canTraverse reports whether the account may search every directory from
// the root down to dir, as the kernel checks it: owner, else group, else
// other bits (supplementary groups are dropped when switching to it).
func (a *account) canTraverse(dir string) bool {
	if a == nil {
		return true
	}
	for p := dir; ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return false
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return false
		}
		bit := os.FileMode(0o001)
		switch {
		case st.Uid == a.uid:
			bit = 0o100
		case st.Gid == a.gid:
			bit = 0o010
		}
		if fi.Mode().Perm()&bit == 0 {
			return false
		}
		if p == filepath.Dir(p) {
			return true
		}
	}
}

// chooseBase picks the directory for server directories: the explicit one,
// else the first of os.TempDir() and /tmp that the server's account can
// reach and that leaves the socket path short enough.
func chooseBase(explicit string, acct *account) (string, error) {
	candidates := []string{explicit}
	if explicit == "" {
		candidates = []string{os.TempDir(), "/tmp"}
	}
	var reasons []string
	for _, c := range candidates {
		abs, err := filepath.Abs(c)
		if err != nil {
			reasons = append(reasons, err.Error())
			continue
		}
		if len(abs)+len(socketSuffix) > maxSocketPath {
			reasons = append(reasons, abs+" is too long a path for a Unix socket")
			continue
		}
		if !acct.canTraverse(abs) {
			reasons = append(reasons, fmt.Sprintf("account %s cannot reach %s", acct.name, abs))
			continue
		}
		return abs, nil
	}
	return "", fmt.Errorf("no usable temporary directory (set TMPDIR): %s", strings.Join(reasons, "; "))
}

// dirLock is held by the process that owns a server directory, for as long
// as it lives: the kernel drops it when the process dies, however it dies.
type dirLock struct{ f *os.File }

// lockDir creates the directory's lock file already locked (it is locked
// under a temporary name and then renamed), so that a concurrent sweep never
// sees an unlocked lock file in a live directory.
func lockDir(dir string) (*dirLock, error) {
	tmp := filepath.Join(dir, lockName+".new")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_RDWR|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, lockName)); err != nil {
		f.Close()
		return nil, fmt.Errorf("create lock: %w", err)
	}
	return &dirLock{f: f}, nil
}

// release unlocks the directory (closing the file drops the lock).
func (l *dirLock) release() {
	if l != nil {
		l.f.Close()
	}
}

// sweepStale removes server directories under base whose owning process has
// died (its lock is free) and whose server is gone too. Errors are ignored:
// sweeping is a courtesy, and another process may be sweeping as well.
func sweepStale(base string) {
	dirs, _ := filepath.Glob(filepath.Join(base, dirPrefix+"*"))
	for _, dir := range dirs {
		f, err := os.Open(filepath.Join(dir, lockName))
		if err != nil {
			continue
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil && !serverAlive(dir) {
			_ = os.RemoveAll(dir)
		}
		f.Close()
	}
}

// serverAlive reports whether the postmaster recorded in dir's data
// directory still runs (it may, briefly, while shutting down after its
// parent died, or for good where there is no parent-death signal).
func serverAlive(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid"))
	if err != nil {
		return false
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil || pid <= 0 {
		return false
	}
	err = syscall.Kill(pid, 0)
	return (err == nil || errors.Is(err, syscall.EPERM)) && !isZombie(pid)
}

// quit asks postgres for an immediate shutdown: it ends its backends and
// exits without a checkpoint, which a throwaway server does not need.
func quit(p *os.Process) error { return p.Signal(syscall.SIGQUIT) }

// interrupt asks postgres for a fast shutdown: sessions are ended, open
// transactions rolled back, and everything committed is written out.
func interrupt(p *os.Process) error { return p.Signal(syscall.SIGINT) }
