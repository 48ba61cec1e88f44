package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// writeConfig writes content to a fresh config file and returns its path.
func writeConfig(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// env turns a map into a hermetic lookup function.
func env(m map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

// valueOf returns the environment-style text of the key at path in c.
func valueOf(t *testing.T, c Config, path string) string {
	t.Helper()
	for _, f := range leaves(&c) {
		if f.key.Path == path {
			return formatValue(f.value)
		}
	}
	t.Fatalf("no key %s", path)
	return ""
}

// configError asserts err holds a *Error for key and returns it.
func configError(t *testing.T, err error, key string) *Error {
	t.Helper()
	if err == nil {
		t.Fatalf("want an error for %s, got none", key)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("error does not wrap ErrInvalid: %v", err)
	}
	for _, e := range flatten(err) {
		var ce *Error
		if errors.As(e, &ce) && ce.Key == key {
			return ce
		}
	}
	t.Fatalf("no error for key %q in: %v", key, err)
	return nil
}

// flatten undoes errors.Join.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		if _, isConfigErr := err.(*Error); !isConfigErr {
			return j.Unwrap()
		}
	}
	return []error{err}
}

func TestDefaultsMatchSpec(t *testing.T) {
	spec := map[string]string{ // SPEC §8, verbatim values
		"database.url":                 "",
		"api.base_url":                 "",
		"api.token":                    "",
		"api.timeout":                  "15s",
		"workers.concurrency":          "16",
		"retry.max_attempts":           "5",
		"retry.backoff":                "2s",
		"retry.max_backoff":            "10m",
		"retry.codes":                  "1001",
		"retry.ambiguous":              "false",
		"rate_limit.per_account":       "0.5",
		"rate_limit.burst":             "1",
		"rate_limit.jitter":            "2s",
		"breaker.consecutive_failures": "20",
		"breaker.cool_down":            "5m",
		"scheduler.timezone":           "Local",
		"scheduler.poll_interval":      "5s",
		"scheduler.misfire_grace":      "1h",
		"log.level":                    "info",
		"log.format":                   "auto",
		"http.listen":                  "",
		"http.console":                 "false",
		"http.console_read_token":      "",
		"http.console_write_token":     "",
		"http.console_trusted_proxy":   "",
		"results.journal":              "",
		"retention.prune_after":        "0",
		"retention.archive_dir":        "",
	}
	keys := Keys()
	if len(keys) != len(spec) {
		t.Errorf("Keys() has %d keys, SPEC §8 has %d", len(keys), len(spec))
	}
	for _, k := range keys {
		want, ok := spec[k.Path]
		if !ok {
			t.Errorf("key %s is not in SPEC §8", k.Path)
			continue
		}
		if k.Default != want {
			t.Errorf("%s default = %q, want %q", k.Path, k.Default, want)
		}
	}
	d := Default()
	if d.Scheduler.Location != time.Local {
		t.Errorf("default Location = %v, want Local", d.Scheduler.Location)
	}
	if d.Retry.MaxBackoff != 10*time.Minute || d.RateLimit.PerAccount != 0.5 {
		t.Errorf("typed defaults wrong: %#v", d)
	}
	if err := d.Validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
}

func TestKeysEnvNames(t *testing.T) {
	want := map[string][]string{
		"database.url":           {"BROADCASTER_DATABASE_URL", "DATABASE_URL"},
		"api.base_url":           {"BROADCASTER_API_BASE_URL"},
		"rate_limit.per_account": {"BROADCASTER_RATE_LIMIT_PER_ACCOUNT"},
		"retry.codes":            {"BROADCASTER_RETRY_CODES"},
		"workers.concurrency":    {"BROADCASTER_WORKERS_CONCURRENCY"},
	}
	for _, k := range Keys() {
		if w, ok := want[k.Path]; ok && !reflect.DeepEqual(k.Env, w) {
			t.Errorf("%s env = %v, want %v", k.Path, k.Env, w)
		}
		if !strings.HasPrefix(k.Env[0], envPrefix) {
			t.Errorf("%s first env %s lacks prefix", k.Path, k.Env[0])
		}
	}
}

// TestShippedConfigFile keeps /config.yaml in step with the code: same values
// as Default, every key written out, every variable named in a comment.
func TestShippedConfigFile(t *testing.T) {
	const path = "../../config.yaml"
	cfg, err := Load(path, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg, Default()) {
		t.Errorf("config.yaml differs from Default():\n file: %s\n code: %s", cfg, Default())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var tree map[string]map[string]any
	if err := yaml.Unmarshal(data, &tree); err != nil {
		t.Fatal(err)
	}
	for _, k := range Keys() {
		section, name, _ := strings.Cut(k.Path, ".")
		if _, ok := tree[section][name]; !ok {
			t.Errorf("config.yaml does not spell out %s", k.Path)
		}
		for _, e := range k.Env {
			if !strings.Contains(string(data), e) {
				t.Errorf("config.yaml does not mention %s for %s", e, k.Path)
			}
		}
	}
}

func TestLoadFileOverrides(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       map[string]string
	}{
		{"empty file", "", nil},
		{"comments only", "# nothing\n", nil},
		{"null section keeps defaults", "retry:\n", nil},
		{"null value keeps default", "log:\n  level:\n", map[string]string{"log.level": "info"}},
		{"durations", "api:\n  timeout: 30s\nretry:\n  backoff: 500ms\n  max_backoff: 2m\n",
			map[string]string{"api.timeout": "30s", "retry.backoff": "500ms", "retry.max_backoff": "2m"}},
		{"numbers and bools", "workers: {concurrency: 64}\nrate_limit: {per_account: 1.5, burst: 3}\nretry: {ambiguous: true}\n",
			map[string]string{"workers.concurrency": "64", "rate_limit.per_account": "1.5", "rate_limit.burst": "3", "retry.ambiguous": "true"}},
		{"codes as numbers", "retry:\n  codes: [1001, \"1002\"]\n", map[string]string{"retry.codes": "1001,1002"}},
		{"codes block list", "retry:\n  codes:\n    - \"1001\"\n    - \"1003\"\n", map[string]string{"retry.codes": "1001,1003"}},
		{"codes scalar list", "retry:\n  codes: 1001,1002\n", map[string]string{"retry.codes": "1001,1002"}},
		{"empty codes", "retry:\n  codes: []\n", map[string]string{"retry.codes": ""}},
		{"strings", "database:\n  url: postgres://u@h/db\napi:\n  base_url: https://api.example.com\n  token: abc\nhttp:\n  listen: 127.0.0.1:9090\n",
			map[string]string{"database.url": "postgres://u@h/db", "api.base_url": "https://api.example.com", "api.token": "abc", "http.listen": "127.0.0.1:9090"}},
		{"zero breaker disables", "breaker:\n  consecutive_failures: 0\n", map[string]string{"breaker.consecutive_failures": "0"}},
		{"anchors and aliases", "api:\n  timeout: &t 30s\nretry:\n  backoff: *t\n",
			map[string]string{"api.timeout": "30s", "retry.backoff": "30s"}},
		{"timezone and log", "scheduler:\n  timezone: Asia/Shanghai\nlog:\n  level: DEBUG\n  format: json\n",
			map[string]string{"scheduler.timezone": "Asia/Shanghai", "log.level": "DEBUG", "log.format": "json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Load(writeConfig(t, tt.yaml), true, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range Keys() {
				want, ok := tt.want[k.Path]
				if !ok {
					want = k.Default
				}
				if got := valueOf(t, cfg, k.Path); got != want {
					t.Errorf("%s = %q, want %q", k.Path, got, want)
				}
			}
		})
	}
}

func TestLoadResolvesTimezone(t *testing.T) {
	cfg, err := Load(writeConfig(t, "scheduler:\n  timezone: Asia/Shanghai\n"), true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Scheduler.Location == nil || cfg.Scheduler.Location.String() != "Asia/Shanghai" {
		t.Errorf("Location = %v", cfg.Scheduler.Location)
	}
	if cfg.Scheduler.Timezone != "Asia/Shanghai" {
		t.Errorf("Timezone = %q", cfg.Scheduler.Timezone)
	}
}

func TestEnvOverridesFile(t *testing.T) {
	path := writeConfig(t, "workers:\n  concurrency: 8\nretry:\n  backoff: 1s\n")
	cfg, err := Load(path, true, env(map[string]string{
		"BROADCASTER_WORKERS_CONCURRENCY": "64",
		"BROADCASTER_LOG_LEVEL":           "", // empty: unset, file/default stays
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Workers.Concurrency != 64 {
		t.Errorf("concurrency = %d, want the environment's 64", cfg.Workers.Concurrency)
	}
	if cfg.Retry.Backoff != time.Second {
		t.Errorf("backoff = %v, want the file's 1s", cfg.Retry.Backoff)
	}
	if cfg.Log.Level != "info" {
		t.Errorf("empty variable replaced log.level with %q", cfg.Log.Level)
	}
}

func TestEveryKeySettableFromEnv(t *testing.T) {
	values := map[string]string{ // non-default, valid values
		"database.url":                 "postgres://u:p@db/broadcaster",
		"api.base_url":                 "http://127.0.0.1:8080",
		"api.token":                    "t0k3n",
		"api.timeout":                  "3s",
		"workers.concurrency":          "64",
		"retry.max_attempts":           "9",
		"retry.backoff":                "50ms",
		"retry.max_backoff":            "1m",
		"retry.codes":                  "1001,1002",
		"retry.ambiguous":              "true",
		"rate_limit.per_account":       "2.5",
		"rate_limit.burst":             "4",
		"rate_limit.jitter":            "0",
		"breaker.consecutive_failures": "3",
		"breaker.cool_down":            "30s",
		"scheduler.timezone":           "UTC",
		"scheduler.poll_interval":      "1s",
		"scheduler.misfire_grace":      "0",
		"log.level":                    "debug",
		"log.format":                   "json",
		"http.listen":                  ":9090",
		"http.console":                 "true",
		"http.console_read_token":      "read-token-0123456789",
		"http.console_write_token":     "write-token-0123456789",
		"http.console_trusted_proxy":   "10.0.0.0/8",
		"results.journal":              "/var/lib/broadcaster/results.journal",
		"retention.prune_after":        "90d",
		"retention.archive_dir":        "/var/lib/broadcaster/archive",
	}
	// Keys that are valid only with others set.
	companions := map[string]map[string]string{
		"http.console": {"BROADCASTER_HTTP_LISTEN": ":9090", "BROADCASTER_HTTP_CONSOLE_READ_TOKEN": "read-token-0123456789"},
	}
	for _, k := range Keys() {
		t.Run(k.Path, func(t *testing.T) {
			want, ok := values[k.Path]
			if !ok {
				t.Fatalf("add a test value for new key %s", k.Path)
			}
			for _, name := range k.Env {
				vars := map[string]string{name: want}
				for n, v := range companions[k.Path] {
					vars[n] = v
				}
				cfg, err := Load("", false, env(vars))
				if err != nil {
					t.Fatalf("%s=%s: %v", name, want, err)
				}
				if got := valueOf(t, cfg, k.Path); got != want {
					t.Errorf("%s=%s gave %s = %q", name, want, k.Path, got)
				}
			}
		})
	}
}

func TestDatabaseURLPrecedence(t *testing.T) {
	file := writeConfig(t, "database:\n  url: postgres://file/db\n")
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"file only", nil, "postgres://file/db"},
		{"DATABASE_URL beats file", map[string]string{"DATABASE_URL": "postgres://generic/db"}, "postgres://generic/db"},
		{"specific beats generic", map[string]string{"DATABASE_URL": "postgres://generic/db", "BROADCASTER_DATABASE_URL": "postgres://specific/db"}, "postgres://specific/db"},
		{"empty specific is unset", map[string]string{"DATABASE_URL": "postgres://generic/db", "BROADCASTER_DATABASE_URL": ""}, "postgres://generic/db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Load(file, true, env(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Database.URL != tt.want {
				t.Errorf("database.url = %q, want %q", cfg.Database.URL, tt.want)
			}
		})
	}
}

func TestLoadRejectsFile(t *testing.T) {
	tests := []struct {
		name, yaml, key, source, msg string
	}{
		{"unknown nested key", "rate_limit:\n  per_acount: 1\n", "rate_limit.per_acount", ":2", "unknown key (did you mean rate_limit.per_account?)"},
		{"unknown top-level key", "wokers:\n  concurrency: 1\n", "wokers", ":1", "unknown key (did you mean workers?)"},
		{"unknown key no hint", "api:\n  password: x\n", "api.password", ":2", "unknown key"},
		{"bad duration", "retry:\n  backoff: 2 seconds\n", "retry.backoff", ":2", `"2 seconds" is not a duration (e.g. 2s, 500ms, 90d)`},
		{"duration without unit", "api:\n  timeout: 15\n", "api.timeout", ":2", `"15" is not a duration`},
		{"bad int", "workers:\n  concurrency: lots\n", "workers.concurrency", ":2", `"lots" is not a whole number`},
		{"fractional int", "workers:\n  concurrency: 1.5\n", "workers.concurrency", ":2", `"1.5" is not a whole number`},
		{"bad float", "rate_limit:\n  per_account: fast\n", "rate_limit.per_account", ":2", `"fast" is not a number`},
		{"NaN float", "rate_limit:\n  per_account: .nan\n", "rate_limit.per_account", ":2", "is not a number"},
		{"bad bool", "retry:\n  ambiguous: maybe\n", "retry.ambiguous", ":2", `"maybe" is not a boolean`},
		{"bad timezone", "scheduler:\n  timezone: Mars/Olympus\n", "scheduler.timezone", ":2", `"Mars/Olympus" is not a known time zone`},
		{"bad level", "log:\n  level: loud\n", "log.level", ":2", `"loud" is not a log level`},
		{"bad format", "log:\n  format: xml\n", "log.format", ":2", `"xml" is not a log format`},
		{"mapping for value", "api:\n  timeout:\n    s: 1\n", "api.timeout", ":3", "must be a single value, not a mapping"},
		{"list for value", "workers:\n  concurrency: [1]\n", "workers.concurrency", ":2", "must be a single value, not a list"},
		{"scalar section", "retry: 5\n", "retry", ":1", "must be a mapping of keys"},
		{"nested list item", "retry:\n  codes: [[1001]]\n", "retry.codes", ":2", "item 1 must be a single value"},
		{"duplicate key", "workers:\n  concurrency: 1\n  concurrency: 2\n", "workers.concurrency", ":3", "duplicate key (first on line 2)"},
		{"invalid relation", "retry:\n  backoff: 1m\n  max_backoff: 30s\n", "retry.max_backoff", ":3", "must not be less than retry.backoff (1m), got 30s"},
		{"out of range", "workers:\n  concurrency: 0\n", "workers.concurrency", ":2", "must be between 1 and 10000, got 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, tt.yaml)
			_, err := Load(path, true, nil)
			ce := configError(t, err, tt.key)
			if ce.Source != path+tt.source {
				t.Errorf("source = %q, want %q", ce.Source, path+tt.source)
			}
			if !strings.Contains(ce.Msg, tt.msg) {
				t.Errorf("msg = %q, want it to contain %q", ce.Msg, tt.msg)
			}
			if want := ce.Source + ": " + tt.key + ": "; !strings.HasPrefix(ce.Error(), want) {
				t.Errorf("Error() = %q, want prefix %q", ce.Error(), want)
			}
		})
	}
}

func TestLoadRejectsWholeFile(t *testing.T) {
	tests := []struct{ name, yaml, msg string }{
		{"not YAML", "retry: [\n", "not valid YAML"},
		{"top level list", "- a\n", "top level must be a mapping"},
		{"two documents", "log: {level: info}\n---\nlog: {level: debug}\n", "more than one YAML document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(writeConfig(t, tt.yaml), true, nil)
			ce := configError(t, err, "")
			if !strings.Contains(ce.Msg, tt.msg) {
				t.Errorf("msg = %q, want %q", ce.Msg, tt.msg)
			}
		})
	}
}

func TestLoadReportsAllProblems(t *testing.T) {
	_, err := Load(writeConfig(t, "workers:\n  concurrency: x\nlog:\n  levle: info\n"), true,
		env(map[string]string{"BROADCASTER_RETRY_BACKOFF": "soon"}))
	for _, key := range []string{"workers.concurrency", "log.levle", "retry.backoff"} {
		configError(t, err, key)
	}
}

func TestLoadRejectsEnv(t *testing.T) {
	tests := []struct{ name, value, key, msg string }{
		{"BROADCASTER_RETRY_BACKOFF", "2 seconds", "retry.backoff", `"2 seconds" is not a duration (e.g. 2s, 500ms, 90d)`},
		{"BROADCASTER_WORKERS_CONCURRENCY", "many", "workers.concurrency", `"many" is not a whole number`},
		{"BROADCASTER_RATE_LIMIT_PER_ACCOUNT", "Inf", "rate_limit.per_account", `"Inf" is not a number`},
		{"BROADCASTER_RETRY_AMBIGUOUS", "sometimes", "retry.ambiguous", `"sometimes" is not a boolean`},
		{"BROADCASTER_SCHEDULER_TIMEZONE", "Nowhere/Land", "scheduler.timezone", `"Nowhere/Land" is not a known time zone`},
		{"BROADCASTER_RETRY_CODES", "1001,,1002", "retry.codes", "item 2 is empty"},
		{"BROADCASTER_RETRY_CODES", "1000", "retry.codes", `"1000" is the success code`},
		{"BROADCASTER_HTTP_LISTEN", "9090", "http.listen", `"9090" is not host:port`},
		{"BROADCASTER_API_BASE_URL", "api.example.com", "api.base_url", "is not an absolute http(s) URL"},
		{"DATABASE_URL", "mysql://u:hunter2@h/db", "database.url", `"mysql://u:xxxxx@h/db" is not a PostgreSQL`},
		{"BROADCASTER_RETENTION_PRUNE_AFTER", "90 days", "retention.prune_after", `"90 days" is not a duration (e.g. 2s, 500ms, 90d)`},
		{"BROADCASTER_RETENTION_PRUNE_AFTER", "90m", "retention.prune_after", "must be 0 (never) or at least 1d, got 1h30m"},
		{"BROADCASTER_RETENTION_PRUNE_AFTER", "-1d", "retention.prune_after", "must be 0 (never) or at least 1d, got -1d"},
		{"BROADCASTER_RETENTION_ARCHIVE_DIR", "archive", "retention.archive_dir", `"archive" is not an absolute path`},
	}
	for _, tt := range tests {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			_, err := Load("", false, env(map[string]string{tt.name: tt.value}))
			ce := configError(t, err, tt.key)
			if ce.Source != tt.name {
				t.Errorf("source = %q, want %q", ce.Source, tt.name)
			}
			if !strings.HasPrefix(ce.Error(), tt.name+": "+tt.key+": ") || !strings.Contains(ce.Msg, tt.msg) {
				t.Errorf("Error() = %q, want %s: %s: …%s", ce.Error(), tt.name, tt.key, tt.msg)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		key    string
		mutate func(*Config)
	}{
		{"api.timeout", func(c *Config) { c.API.Timeout = 0 }},
		{"api.base_url", func(c *Config) { c.API.BaseURL = "ftp://x" }},
		{"api.base_url", func(c *Config) { c.API.BaseURL = "https://" }},
		{"workers.concurrency", func(c *Config) { c.Workers.Concurrency = MaxConcurrency + 1 }},
		{"retry.max_attempts", func(c *Config) { c.Retry.MaxAttempts = 0 }},
		{"retry.backoff", func(c *Config) { c.Retry.Backoff = 0 }},
		{"retry.max_backoff", func(c *Config) { c.Retry.MaxBackoff = time.Second }},
		{"retry.codes", func(c *Config) { c.Retry.Codes = []string{""} }},
		{"retry.codes", func(c *Config) { c.Retry.Codes = []string{"1001", "1001"} }},
		{"retry.codes", func(c *Config) { c.Retry.Codes = []string{" 1001"} }},
		{"rate_limit.per_account", func(c *Config) { c.RateLimit.PerAccount = -1 }},
		{"rate_limit.burst", func(c *Config) { c.RateLimit.Burst = 0 }},
		{"rate_limit.jitter", func(c *Config) { c.RateLimit.Jitter = -time.Second }},
		{"breaker.consecutive_failures", func(c *Config) { c.Breaker.ConsecutiveFailures = -1 }},
		{"breaker.cool_down", func(c *Config) { c.Breaker.CoolDown = 0 }},
		{"scheduler.timezone", func(c *Config) { c.Scheduler.Timezone = "" }},
		{"scheduler.poll_interval", func(c *Config) { c.Scheduler.PollInterval = 0 }},
		{"scheduler.misfire_grace", func(c *Config) { c.Scheduler.MisfireGrace = -time.Minute }},
		{"log.level", func(c *Config) { c.Log.Level = "" }},
		{"log.format", func(c *Config) { c.Log.Format = "" }},
		{"http.listen", func(c *Config) { c.HTTP.Listen = "localhost:http" }},
		{"http.listen", func(c *Config) { c.HTTP.Listen = ":70000" }},
		{"http.console", func(c *Config) { c.HTTP.Console, c.HTTP.ConsoleReadToken = true, "read-token-0123456789" }},
		{"http.console_read_token", func(c *Config) { c.HTTP.Console, c.HTTP.Listen = true, ":9090" }},
		{"http.console_read_token", func(c *Config) { c.HTTP.ConsoleReadToken = "short" }},
		{"http.console_write_token", func(c *Config) { c.HTTP.ConsoleWriteToken = "short" }},
		{"http.console_write_token", func(c *Config) {
			c.HTTP.ConsoleReadToken, c.HTTP.ConsoleWriteToken = "same-token-0123456789", "same-token-0123456789"
		}},
		{"http.console_trusted_proxy", func(c *Config) { c.HTTP.ConsoleTrustedProxy = "10.0.0.1" }},
		{"http.console_trusted_proxy", func(c *Config) { c.HTTP.ConsoleTrustedProxy = "proxy.internal" }},
		{"results.journal", func(c *Config) { c.Results.Journal = "results.journal" }},
		{"results.journal", func(c *Config) { c.Results.Journal = "/var/lib/broadcaster/" }},
		{"results.journal", func(c *Config) { c.Results.Journal = " /var/lib/broadcaster/j" }},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			c := Default()
			tt.mutate(&c)
			err := c.Validate()
			configError(t, err, tt.key)
			if n := len(flatten(err)); n != 1 {
				t.Errorf("want exactly one problem, got %d: %v", n, err)
			}
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
	}{
		{"breaker disabled", func(c *Config) { c.Breaker.ConsecutiveFailures = 0 }},
		{"unlimited rate", func(c *Config) { c.RateLimit.PerAccount = 0 }},
		{"no jitter", func(c *Config) { c.RateLimit.Jitter = 0 }},
		{"no code retries", func(c *Config) { c.Retry.Codes = nil }},
		{"UTC", func(c *Config) { c.Scheduler.Timezone = "UTC" }},
		{"listen all interfaces", func(c *Config) { c.HTTP.Listen = ":9090" }},
		{"journal", func(c *Config) { c.Results.Journal = "/var/lib/broadcaster/results.journal" }},
		{"listen IPv6", func(c *Config) { c.HTTP.Listen = "[::1]:9090" }},
		{"keyword DSN", func(c *Config) { c.Database.URL = "host=db dbname=b" }},
		{"postgresql scheme", func(c *Config) { c.Database.URL = "postgresql://db/b" }},
		{"https base", func(c *Config) { c.API.BaseURL = "https://api.example.com/v1" }},
		{"max concurrency", func(c *Config) { c.Workers.Concurrency = MaxConcurrency }},
		{"read-only console", func(c *Config) {
			c.HTTP.Listen, c.HTTP.Console, c.HTTP.ConsoleReadToken = ":9090", true, "read-token-0123456789"
		}},
		{"console with writes behind a proxy", func(c *Config) {
			c.HTTP.Listen, c.HTTP.Console, c.HTTP.ConsoleReadToken = ":9090", true, "read-token-0123456789"
			c.HTTP.ConsoleWriteToken, c.HTTP.ConsoleTrustedProxy = "write-token-0123456789", "127.0.0.1/32"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mutate(&c)
			if err := c.Validate(); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestConfigFilePresence(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.yaml")
	_, err := Load(missing, true, nil)
	ce := configError(t, err, "")
	if ce.Source != missing || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("explicit missing file: %v", err)
	}

	t.Chdir(t.TempDir()) // no ./config.yaml here
	cfg, err := Load("", false, nil)
	if err != nil {
		t.Fatalf("absent default file: %v", err)
	}
	if !reflect.DeepEqual(cfg, Default()) {
		t.Errorf("absent default file gave %v", cfg)
	}

	if err := os.WriteFile(DefaultPath, []byte("workers:\n  concurrency: 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err = Load("", false, nil)
	if err != nil || cfg.Workers.Concurrency != 3 {
		t.Errorf("present default file: %v, concurrency %d", err, cfg.Workers.Concurrency)
	}
}

func TestRequire(t *testing.T) {
	c := Default()
	ce := configError(t, c.RequireDatabase(), "database.url")
	if !strings.Contains(ce.Msg, "BROADCASTER_DATABASE_URL or DATABASE_URL") {
		t.Errorf("RequireDatabase msg = %q", ce.Msg)
	}
	err := c.RequireAPI()
	configError(t, err, "api.base_url")
	configError(t, err, "api.token")

	c.Database.URL = "postgres://db/b"
	c.API.BaseURL = "http://api"
	c.API.Token = "t"
	if err := errors.Join(c.RequireDatabase(), c.RequireAPI()); err != nil {
		t.Error(err)
	}
}

func TestUnknownEnv(t *testing.T) {
	got := UnknownEnv([]string{
		"PATH=/bin", "BROADCASTER_WORKERS_CONCURRENCY=4", "BROADCASTER_WORKER_CONCURRENCY=4",
		"DATABASE_URL=x", "BROADCASTER_RETRY_CODES=",
	})
	if want := []string{"BROADCASTER_WORKER_CONCURRENCY"}; !reflect.DeepEqual(got, want) {
		t.Errorf("UnknownEnv = %v, want %v", got, want)
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{Source: "c.yaml:3", Key: "a.b", Msg: "bad"}, "c.yaml:3: a.b: bad"},
		{&Error{Key: "a.b", Msg: "bad"}, "a.b: bad"},
		{&Error{Source: "c.yaml", Msg: "bad"}, "c.yaml: bad"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}
