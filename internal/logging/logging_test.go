package logging

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// fixedClock returns a clock stuck at a known instant.
func fixedClock(t *testing.T) func() time.Time {
	t.Helper()
	at := time.Date(2025, 11, 25, 9, 12, 3, 456_000_000, time.FixedZone("CST", 8*3600))
	return func() time.Time { return at }
}

func TestNewFormats(t *testing.T) {
	tests := []struct {
		format   string
		terminal bool
		json     bool
		color    bool
	}{
		{"auto", false, true, false},
		{"auto", true, false, true},
		{"json", true, true, false},
		{"json", false, true, false},
		{"console", false, false, false},
		{"console", true, false, true},
		{"JSON", false, true, false},
	}
	for _, tt := range tests {
		name := tt.format
		if tt.terminal {
			name += "/terminal"
		}
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			logger, err := newLogger(&buf, "info", tt.format, tt.terminal, fixedClock(t))
			if err != nil {
				t.Fatal(err)
			}
			logger.Info().Str("campaign", "nightly").Msg("run created")
			out := buf.String()
			var event map[string]any
			isJSON := json.Unmarshal(buf.Bytes(), &event) == nil
			if isJSON != tt.json {
				t.Fatalf("JSON output = %v, want %v: %q", isJSON, tt.json, out)
			}
			if hasColor := strings.Contains(out, "\x1b["); hasColor != tt.color {
				t.Errorf("colored = %v, want %v: %q", hasColor, tt.color, out)
			}
			if !strings.Contains(out, "run created") || !strings.Contains(out, "nightly") {
				t.Errorf("message or field missing: %q", out)
			}
			if tt.json && event["time"] != "2025-11-25T09:12:03.456+08:00" {
				t.Errorf("time = %v", event["time"])
			}
			if !tt.json && !strings.Contains(out, "2025-11-25 ") {
				t.Errorf("console output lacks the timestamp: %q", out)
			}
		})
	}
}

func TestNewLevel(t *testing.T) {
	tests := []struct {
		level      string
		wantDebug  bool
		wantInfo   bool
		wantErrors bool
	}{
		{"trace", true, true, true},
		{"debug", true, true, true},
		{"info", false, true, true},
		{"WARN", false, false, true},
		{" error ", false, false, true},
		{"disabled", false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.level, func(t *testing.T) {
			var buf bytes.Buffer
			logger, err := New(&buf, tt.level, "json", false)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				ev   *zerolog.Event
				want bool
				msg  string
			}{
				{logger.Debug(), tt.wantDebug, "d"},
				{logger.Info(), tt.wantInfo, "i"},
				{logger.Error(), tt.wantErrors, "e"},
			} {
				buf.Reset()
				c.ev.Msg(c.msg)
				if got := buf.Len() > 0; got != c.want {
					t.Errorf("level %s: %q logged = %v, want %v", tt.level, c.msg, got, c.want)
				}
			}
		})
	}
}

func TestNewRejects(t *testing.T) {
	tests := []struct{ level, format, want string }{
		{"loud", "json", `"loud" is not a log level (trace, debug, info, warn, error, fatal, panic, disabled)`},
		{"", "json", `"" is not a log level`},
		{"1", "json", `"1" is not a log level`},
		{"info", "xml", `"xml" is not a log format (auto, console, json)`},
		{"info", "", `"" is not a log format`},
	}
	for _, tt := range tests {
		t.Run(tt.level+"/"+tt.format, func(t *testing.T) {
			_, err := New(&bytes.Buffer{}, tt.level, tt.format, false)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want %q", err, tt.want)
			}
		})
	}
}

func TestIsTerminal(t *testing.T) {
	if IsTerminal(&bytes.Buffer{}) {
		t.Error("a buffer is not a terminal")
	}
	f, err := os.CreateTemp(t.TempDir(), "log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if IsTerminal(f) {
		t.Error("a regular file is not a terminal")
	}
}

func TestNewUsesNoGlobalState(t *testing.T) {
	var a, b bytes.Buffer
	la, _ := New(&a, "info", "json", false)
	lb, _ := New(&b, "error", "json", false)
	la.Info().Msg("to a")
	lb.Info().Msg("not logged")
	if !strings.Contains(a.String(), "to a") || b.Len() != 0 {
		t.Errorf("loggers interfere: a=%q b=%q", a.String(), b.String())
	}
}
