//go:build unix

package journal

import (
	"errors"
	"os"
	"syscall"
)

// errWouldBlock is what flock answers when another open file holds the lock.
var errWouldBlock = syscall.EWOULDBLOCK

// lock takes an exclusive lock on f without waiting. The lock belongs to
// the open file and ends when it is closed, or when the process dies: a
// killed process never leaves a journal locked.
func lock(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// syncDir makes a newly created entry of dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
