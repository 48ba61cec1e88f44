package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// day is the unit "d": 24 hours. Retention is thought of in days ("keep 90
// days"), and Go's largest unit, the hour, would make operators write 2160h.
const day = 24 * time.Hour

// errDuration is the cause behind every ParseDuration error.
var errDuration = errors.New("not a duration")

// ParseDuration reads a duration as operators write it in the config file,
// the environment and command-line flags: Go's syntax (500ms, 15s, 1h30m)
// optionally led by a whole number of days ("90d", "1d12h"). It is the only
// duration parser of the configuration and of the flags, so a value that
// works in one place works in all of them.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	days, rest, ok := cutDays(s)
	if !ok {
		return parseGo(s)
	}
	sign := time.Duration(1)
	if strings.HasPrefix(days, "-") {
		sign = -1
	}
	n, err := strconv.ParseUint(strings.TrimLeft(days, "+-"), 10, 64)
	if err != nil || n > uint64(math.MaxInt64/int64(day)) {
		return 0, fmt.Errorf("%q: %w", s, errDuration)
	}
	d := time.Duration(n) * day
	if rest != "" {
		if strings.HasPrefix(rest, "-") || strings.HasPrefix(rest, "+") {
			return 0, fmt.Errorf("%q: %w", s, errDuration)
		}
		r, err := parseGo(rest)
		if err != nil {
			return 0, fmt.Errorf("%q: %w", s, errDuration)
		}
		if d > math.MaxInt64-r {
			return 0, fmt.Errorf("%q: %w", s, errDuration)
		}
		d += r
	}
	return sign * d, nil
}

// cutDays splits "[+-]N d REST" into its day count and the rest; ok is false
// when s has no leading day count.
func cutDays(s string) (days, rest string, ok bool) {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == start || i >= len(s) || s[i] != 'd' {
		return "", "", false
	}
	return s[:i], s[i+1:], true
}

// parseGo is time.ParseDuration with this package's error.
func parseGo(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q: %w", s, errDuration)
	}
	return d, nil
}

// FormatDuration writes d the way ParseDuration reads it and operators write
// it: whole days first ("90d", "1d12h"), no zero tails ("10m", not "10m0s";
// "1h", not "1h0m0s"), and "0" for zero, as SPEC §8 writes it.
func FormatDuration(d time.Duration) string {
	if d == 0 {
		return "0"
	}
	sign := ""
	if d < 0 && d != math.MinInt64 {
		sign, d = "-", -d
	}
	var days string
	if d >= day {
		days = strconv.FormatInt(int64(d/day), 10) + "d"
		d %= day
		if d == 0 {
			return sign + days
		}
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return sign + days + s
}

// DurationFlag is a flag.Value for a command-line duration, read with
// ParseDuration so that "--older-than 90d" takes what the config file takes.
type DurationFlag struct {
	// D is where the parsed value is stored.
	D *time.Duration
}

// String implements flag.Value. Zero is written as nothing, so that --help
// shows no "(default 0)" for a flag that must be given.
func (f DurationFlag) String() string {
	if f.D == nil || *f.D == 0 {
		return ""
	}
	return FormatDuration(*f.D)
}

// Set implements flag.Value; the flag package adds the flag's name to the
// error.
func (f DurationFlag) Set(s string) error {
	d, err := ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration (e.g. 90d, 1d12h, 2h30m)", s)
	}
	*f.D = d
	return nil
}
