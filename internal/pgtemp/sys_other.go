//go:build !unix

package pgtemp

import (
	"os"
	"syscall"
)

// account is unused where there is no root to step down from.
type account struct{ name string }

func serverAccount(string) (*account, error) { return nil, nil }

func (*account) own(string) error { return nil }

// chooseBase uses the explicit directory or the system's temporary one.
func chooseBase(explicit string, _ *account) (string, error) {
	if explicit != "" {
		return explicit, nil
	}
	return os.TempDir(), nil
}

// dirLock is a no-op without flock; stale directories are not swept.
type dirLock struct{}

func lockDir(string) (*dirLock, error) { return &dirLock{}, nil }

func (*dirLock) release() {}

func sweepStale(string) {}

func sysProcAttr(*account) *syscall.SysProcAttr { return nil }

// quit kills the server: there is no SIGQUIT to ask for a shutdown.
func quit(p *os.Process) error { return p.Kill() }

// interrupt kills the server: there is no SIGINT to ask for a fast shutdown.
func interrupt(p *os.Process) error { return p.Kill() }
