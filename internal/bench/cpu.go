package bench

import (
	"fmt"
	"syscall"
	"time"

	"github.com/prometheus/procfs"
)

// userHZ is the unit of the times in /proc/<pid>/stat: USER_HZ, 100 on every
// Linux architecture Go supports.
const userHZ = 100

// ticks converts /proc clock ticks to a duration.
func ticks(n int) time.Duration { return time.Duration(n) * time.Second / userHZ }

// treeCPU is the CPU time the process pid and all its children ever spent:
// its own, that of the children it has reaped (cutime, cstime), and that of
// the children alive now. For the postmaster this is the whole server:
// backends are its children, and exit into its cutime once reaped.
func treeCPU(pid int) (time.Duration, error) {
	fs, err := procfs.NewFS(procfs.DefaultMountPoint)
	if err != nil {
		return 0, fmt.Errorf("proc: %w", err)
	}
	procs, err := fs.AllProcs()
	if err != nil {
		return 0, fmt.Errorf("proc: %w", err)
	}
	var total time.Duration
	found := false
	for _, p := range procs {
		st, err := p.Stat()
		if err != nil {
			continue // gone between the listing and the read
		}
		if p.PID != pid && st.PPID != pid {
			continue
		}
		found = found || p.PID == pid
		total += ticks(int(st.UTime) + int(st.STime) + st.CUTime + st.CSTime)
	}
	if !found {
		return 0, fmt.Errorf("proc: no process %d", pid)
	}
	return total, nil
}

// selfCPU is the CPU time this process has spent, its children excluded:
// the fake API's (and the harness's) share of the machine.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
