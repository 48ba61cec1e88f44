package bench

import (
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Options is what a bench run is told. cmd/benchtable fills it from flags
// and the BENCH_* environment variables.
type Options struct {
	// Binary is the broadcaster binary, an absolute path.
	Binary string
	// Self is this program, re-executed to run the bare loop in a process
	// of its own (see BareLoopMain).
	Self string
	// River is the bench/river program (River sending the same requests),
	// measured beside broadcaster in the throughput scenario; "" leaves
	// that row out.
	River string
	// AppMsg is the applet XML every scenario sends.
	AppMsg string
	// Scale multiplies every scenario's size (1: the sizes; 0.1 for
	// a quick check or a small machine). Targets that are durations of a
	// sized job scale with it.
	Scale float64
	// Only runs the scenarios whose name matches; nil runs all.
	Only *regexp.Regexp
	// PGSettings are extra PostgreSQL settings (fsync, synchronous_commit…).
	PGSettings map[string]string
	// Logs receives every broadcaster process's log lines; nil drops them.
	Logs io.Writer
	// Progress receives one line as each scenario starts; nil drops them.
	Progress io.Writer
}

// scaled is n times the scale, rounded, and at least floor.
func (o Options) scaled(n, floor int) int {
	return max(floor, int(math.Round(float64(n)*o.Scale)))
}

// timeout bounds a scenario of n deliveries: two minutes, plus one second
// per 500 deliveries (a rate no working build is below).
func timeout(n int) time.Duration {
	return 2*time.Minute + time.Duration(n/500)*time.Second
}

// ParseSettings reads "name=value,name=value" (BENCH_PG_SETTINGS).
func ParseSettings(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		name, value, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(name) == "" {
			return nil, fmt.Errorf("PostgreSQL setting %q is not name=value", kv)
		}
		out[strings.TrimSpace(name)] = strings.TrimSpace(value)
	}
	return out, nil
}

// ParseScale reads BENCH_SCALE: a positive number.
func ParseScale(s string) (float64, error) {
	if s == "" {
		return 1, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || !(f > 0) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("scale %q is not a positive number", s)
	}
	return f, nil
}
