//go:build !unix

package journal

import (
	"errors"
	"os"
)

// errWouldBlock never matches: lock refuses outright here.
var errWouldBlock = errors.New("would block")

// lock refuses: without flock nothing keeps two processes off one journal,
// and sharing one loses results.
func lock(*os.File) error {
	return errors.New("results.journal needs flock, which this platform lacks; leave it empty")
}

func syncDir(string) error { return nil }
