package main

import (
	"runtime/debug"
	"testing"
)

// The collector runs at gcPercent unless GOGC says otherwise, and with a
// soft memory limit unless GOMEMLIMIT says otherwise.
func TestTuneGCLeavesTheOperatorsSettings(t *testing.T) {
	prevPercent, prevLimit := debug.SetGCPercent(100), debug.SetMemoryLimit(-1)
	t.Cleanup(func() {
		debug.SetGCPercent(prevPercent)
		debug.SetMemoryLimit(prevLimit)
	})
	cases := []struct {
		name        string
		env         map[string]string
		wantPercent int
		wantLimit   int64
	}{
		{"unset", nil, gcPercent, memoryLimit},
		{"GOGC set", map[string]string{"GOGC": "50"}, 100, memoryLimit},
		{"GOMEMLIMIT set", map[string]string{"GOMEMLIMIT": "1GiB"}, gcPercent, 1 << 30},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			debug.SetGCPercent(100)
			debug.SetMemoryLimit(1 << 30)
			tuneGC(func(k string) (string, bool) { v, ok := c.env[k]; return v, ok })
			if got := debug.SetGCPercent(100); got != c.wantPercent {
				t.Errorf("GC percent = %d, want %d", got, c.wantPercent)
			}
			if got := debug.SetMemoryLimit(-1); got != c.wantLimit {
				t.Errorf("memory limit = %d, want %d", got, c.wantLimit)
			}
		})
	}
}
