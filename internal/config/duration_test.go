package config

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	t.Parallel()
	const day = 24 * time.Hour
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"90d", 90 * day, true},
		{"1d12h", 36 * time.Hour, true},
		{"1d", day, true},
		{"0d", 0, true},
		{"2d30m15s", 2*day + 30*time.Minute + 15*time.Second, true},
		{" 7d ", 7 * day, true},
		{"-1d", -day, true},
		{"+3d", 3 * day, true},
		{"15s", 15 * time.Second, true},
		{"1h30m", 90 * time.Minute, true},
		{"500ms", 500 * time.Millisecond, true},
		{"0", 0, true},
		{"d", 0, false},
		{"1.5d", 0, false},
		{"1d-2h", 0, false},
		{"1d1d", 0, false},
		{"12h1d", 0, false},
		{"90", 0, false},
		{"90 days", 0, false},
		{"", 0, false},
		{"106751d", 106751 * day, true},
		{"106752d", 0, false},
		{"106751d24h", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDuration(tt.in)
			if (err == nil) != tt.ok || got != tt.want {
				t.Errorf("ParseDuration(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
			}
		})
	}
}

// Every duration FormatDuration writes reads back as itself, so the docs'
// defaults and error messages are values an operator can paste.
func TestFormatDurationRoundTrips(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   time.Duration
		want string
	}{
		{0, "0"},
		{15 * time.Second, "15s"},
		{10 * time.Minute, "10m"},
		{time.Hour, "1h"},
		{90 * time.Minute, "1h30m"},
		{24 * time.Hour, "1d"},
		{90 * 24 * time.Hour, "90d"},
		{36 * time.Hour, "1d12h"},
		{24*time.Hour + time.Second, "1d1s"},
		{-36 * time.Hour, "-1d12h"},
		{500 * time.Millisecond, "500ms"},
	}
	for _, tt := range tests {
		got := FormatDuration(tt.in)
		if got != tt.want {
			t.Errorf("FormatDuration(%v) = %q, want %q", tt.in, got, tt.want)
		}
		back, err := ParseDuration(got)
		if err != nil || back != tt.in {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", got, back, err, tt.in)
		}
	}
}

// Flags take what the config file takes, and a bad value names the flag.
func TestDurationFlag(t *testing.T) {
	t.Parallel()
	var d time.Duration
	fs := flag.NewFlagSet("prune", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Var(DurationFlag{D: &d}, "older-than", "")
	if err := fs.Parse([]string{"--older-than", "1d12h"}); err != nil || d != 36*time.Hour {
		t.Fatalf("--older-than 1d12h: %v, %v", d, err)
	}
	err := fs.Parse([]string{"--older-than", "90 days"})
	if err == nil || !strings.Contains(err.Error(), "-older-than") || !strings.Contains(err.Error(), `"90 days" is not a duration`) {
		t.Errorf("bad value: %v", err)
	}
}

func TestRetentionFromFile(t *testing.T) {
	t.Parallel()
	cfg, err := Load(writeConfig(t, "retention:\n  prune_after: 90d\n  archive_dir: /srv/archive\n"), true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Retention.PruneAfter != 90*24*time.Hour || cfg.Retention.ArchiveDir != "/srv/archive" {
		t.Errorf("retention = %+v", cfg.Retention)
	}
}
