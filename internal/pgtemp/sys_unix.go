//go:build unix && !linux

package pgtemp

import "syscall"

// sysProcAttr makes the child run as acct when set. Outside Linux there is
// no parent-death signal: a killed process leaves its server running until
// the next Start's sweep finds it stopped, so Stop must be called. As on
// Linux, the child gets its own process group, out of reach of Ctrl-C.
func sysProcAttr(acct *account) *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{Setpgid: true}
	if acct != nil {
		attr.Credential = &syscall.Credential{Uid: acct.uid, Gid: acct.gid}
	}
	return attr
}

// isZombie is only known on Linux; elsewhere a signalable pid counts as
// alive.
func isZombie(int) bool { return false }
