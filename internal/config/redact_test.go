package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

func TestRedactURL(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"empty", "", ""},
		{"url with password", "postgres://bob:hunter2@db:5432/app?sslmode=disable", "postgres://bob:xxxxx@db:5432/app?sslmode=disable"},
		{"url escaped password", "postgres://bob:p%40ss%2Fw@db/app", "postgres://bob:xxxxx@db/app"},
		{"url without password", "postgres://bob@db/app", "postgres://bob@db/app"},
		{"url without user", "postgresql:///app?host=/run/postgresql", "postgresql:///app?host=/run/postgresql"},
		{"url password param", "postgres://db/app?user=bob&password=hunter2&sslmode=require", "postgres://db/app?user=bob&password=xxxxx&sslmode=require"},
		{"url sslpassword param", "postgres://db/app?sslpassword=hunter2", "postgres://db/app?sslpassword=xxxxx"},
		{"multi-host url", "postgres://bob:hunter2@h1:5432,h2:5432/app", "postgres://bob:xxxxx@h1:5432,h2:5432/app"},
		{"unparseable url with @ in password", "postgres://bob:hun@ter2@h1:5432,h2:5432/app?password=x", "postgres://bob:xxxxx@h1:5432,h2:5432/app?password=xxxxx"},
		{"http base url", "https://user:tok@api.example.com/v1", "https://user:xxxxx@api.example.com/v1"},
		{"keyword form", "host=db user=bob password=hunter2 dbname=app", "host=db user=bob password=xxxxx dbname=app"},
		{"keyword spaces around =", "host = db password = hunter2 dbname=app", "host = db password = xxxxx dbname=app"},
		{"keyword quoted", "password='hunter 2\\' x' host=db", "password=xxxxx host=db"},
		{"keyword escaped space", `password=hunter\ 2 host=db`, "password=xxxxx host=db"},
		{"keyword case", "PASSWORD=hunter2", "PASSWORD=xxxxx"},
		{"keyword sslpassword", "sslpassword=hunter2 sslmode=verify-full", "sslpassword=xxxxx sslmode=verify-full"},
		{"keyword no password", "host=db dbname=app", "host=db dbname=app"},
		{"keyword empty password", "password='' host=db", "password=xxxxx host=db"},
		// libpq skips spaces after '=', so the password here is "host=db".
		{"keyword space after =", "password= host=db", "password= xxxxx"},
		{"malformed", "db hunter2", unparseable},
		{"malformed url typo", "postgres:/bob:hunter2@db/app", unparseable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RedactURL(tt.in); got != tt.want {
				t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// secretConfig returns a config carrying secrets in every redactable key.
func secretConfig(t *testing.T) Config {
	t.Helper()
	c := Default()
	c.API.Token = "tok-SECRET"
	c.API.BaseURL = "https://u:base-SECRET@api.example.com"
	c.Database.URL = "host=db password=db-SECRET dbname=app"
	c.HTTP.ConsoleReadToken = "read-SECRET-0123456789"
	c.HTTP.ConsoleWriteToken = "write-SECRET-0123456789"
	return c
}

func TestRedacted(t *testing.T) {
	c := secretConfig(t)
	r := c.Redacted()
	if r.API.Token != "[redacted]" || r.Database.URL != "host=db password=xxxxx dbname=app" ||
		r.API.BaseURL != "https://u:xxxxx@api.example.com" {
		t.Errorf("Redacted() = %+v", r.API)
	}
	if r.HTTP.ConsoleReadToken != "[redacted]" || r.HTTP.ConsoleWriteToken != "[redacted]" {
		t.Errorf("Redacted() = %+v", r.HTTP)
	}
	if c.API.Token != "tok-SECRET" {
		t.Error("Redacted modified the original")
	}
	r.Retry.Codes[0] = "changed"
	if c.Retry.Codes[0] != "1001" {
		t.Error("Redacted shares the codes slice")
	}
	if Default().Redacted().API.Token != "" {
		t.Error("an empty token should stay visibly empty")
	}
}

func TestPrintingNeverLeaks(t *testing.T) {
	c := secretConfig(t)
	var buf bytes.Buffer
	logger := zerolog.New(&buf)
	logger.Info().Object("config", c).Msg("")
	outputs := map[string]string{
		"%v":      fmt.Sprintf("%v", c),
		"%+v":     fmt.Sprintf("%+v", c),
		"%#v":     fmt.Sprintf("%#v", c),
		"%s":      fmt.Sprintf("%s", c),
		"zerolog": buf.String(),
	}
	for how, out := range outputs {
		if strings.Contains(out, "SECRET") {
			t.Errorf("%s leaks a secret: %s", how, out)
		}
		if !strings.Contains(out, "workers") {
			t.Errorf("%s lost the settings: %s", how, out)
		}
	}
}

func TestZerologObjectTypes(t *testing.T) {
	var buf bytes.Buffer
	logger := zerolog.New(&buf)
	logger.Info().Object("config", Default()).Msg("")
	var got struct {
		Config struct {
			Workers   struct{ Concurrency int }
			RateLimit struct {
				PerAccount float64 `json:"per_account"`
				Jitter     string
			} `json:"rate_limit"`
			Retry struct {
				Codes     []string
				Ambiguous bool
			}
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("%v: %s", err, buf.String())
	}
	c := got.Config
	if c.Workers.Concurrency != 16 || c.RateLimit.PerAccount != 0.5 || c.RateLimit.Jitter != "2s" ||
		len(c.Retry.Codes) != 1 || c.Retry.Ambiguous {
		t.Errorf("logged config = %+v from %s", c, buf.String())
	}
}
