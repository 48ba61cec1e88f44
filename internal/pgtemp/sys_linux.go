package pgtemp

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
)

// sysProcAttr makes the child run as acct (when set) and receive SIGQUIT,
// postgres's immediate shutdown, when the thread that started it dies, so
// that a killed test binary does not leave its server running. Go sets the
// parent-death signal after switching credentials, which would otherwise
// clear it. The child gets its own process group, so that a Ctrl-C meant
// for the program (say, the demo) does not shut the server down under it
// before the program has stopped using it.
func sysProcAttr(acct *account) *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{Pdeathsig: syscall.SIGQUIT, Setpgid: true}
	if acct != nil {
		// No Groups: supplementary groups are dropped.
		attr.Credential = &syscall.Credential{Uid: acct.uid, Gid: acct.gid}
	}
	return attr
}

// isZombie reports whether pid has exited but is not yet reaped, which
// happens to an orphaned server in a container whose init does not reap.
func isZombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true // gone between the check and now
	}
	// The state follows the command name, which is in parentheses and may
	// itself contain parentheses.
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && b[i+2] == 'Z'
}
