package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/broadcaster/broadcaster/campaign"
	"github.com/broadcaster/broadcaster/internal/logging"
	"github.com/broadcaster/broadcaster/sender"
)

// MaxConcurrency bounds workers.concurrency: beyond it a typo (an extra
// zero or two) would open more connections than any provider accepts.
const MaxConcurrency = 10000

// Validate checks every key's value and the relations between keys,
// returning all problems at once (joined), each a *Error wrapping
// ErrInvalid. Empty database.url, api.base_url and api.token are valid here:
// only some commands need them (see RequireDatabase and RequireAPI).
func (c Config) Validate() error {
	problems := c.problems()
	errs := make([]error, len(problems))
	for i, p := range problems {
		errs[i] = p
	}
	return errors.Join(errs...)
}

// RequireDatabase reports a missing database.url, naming where to set it, for
// the commands that need the database.
func (c Config) RequireDatabase() error {
	if c.Database.URL == "" {
		return notSet("database.url")
	}
	return nil
}

// RequireAPI reports a missing api.base_url or api.token, for the commands
// that send.
func (c Config) RequireAPI() error {
	var errs []error
	if c.API.BaseURL == "" {
		errs = append(errs, notSet("api.base_url"))
	}
	if c.API.Token == "" {
		errs = append(errs, notSet("api.token"))
	}
	return errors.Join(errs...)
}

// notSet builds the "key is not set" error with the key's variables.
func notSet(path string) *Error {
	for _, k := range Keys() {
		if k.Path == path {
			return &Error{Key: path, Msg: "is not set; set it in the config file or with " + strings.Join(k.Env, " or ")}
		}
	}
	return &Error{Key: path, Msg: "is not set"}
}

// checks collects problems in key order.
type checks []*Error

// add records msg against key unless msg is empty.
func (cs *checks) add(key, msg string) {
	if msg != "" {
		*cs = append(*cs, &Error{Key: key, Msg: msg})
	}
}

// problems runs every rule; an empty message means the value is fine.
func (c Config) problems() []*Error {
	var cs checks
	cs.add("database.url", checkDatabaseURL(c.Database.URL))
	cs.add("api.base_url", checkBaseURL(c.API.BaseURL))
	cs.add("api.timeout", positive(c.API.Timeout))
	cs.add("workers.concurrency", between(c.Workers.Concurrency, 1, MaxConcurrency))
	cs.add("retry.max_attempts", atLeast(c.Retry.MaxAttempts, 1))
	cs.add("retry.backoff", positive(c.Retry.Backoff))
	cs.add("retry.max_backoff", notBelow(c.Retry.MaxBackoff, c.Retry.Backoff, "retry.backoff"))
	cs.add("retry.codes", checkCodes(c.Retry.Codes))
	cs.add("rate_limit.per_account", checkRate(c.RateLimit.PerAccount))
	cs.add("rate_limit.burst", atLeast(c.RateLimit.Burst, 1))
	cs.add("rate_limit.jitter", notNegative(c.RateLimit.Jitter))
	cs.add("breaker.consecutive_failures", atLeast(c.Breaker.ConsecutiveFailures, 0))
	cs.add("breaker.cool_down", positive(c.Breaker.CoolDown))
	cs.add("scheduler.timezone", checkTimezone(c.Scheduler.Timezone))
	cs.add("scheduler.poll_interval", positive(c.Scheduler.PollInterval))
	cs.add("scheduler.misfire_grace", notNegative(c.Scheduler.MisfireGrace))
	cs.add("log.level", message(logging.ParseLevel(c.Log.Level)))
	cs.add("log.format", message(logging.ParseFormat(c.Log.Format)))
	cs.add("http.listen", checkListen(c.HTTP.Listen))
	cs.add("http.console", checkConsole(c.HTTP))
	cs.add("http.console_read_token", checkReadToken(c.HTTP))
	cs.add("http.console_write_token", checkWriteToken(c.HTTP))
	cs.add("http.console_trusted_proxy", checkCIDR(c.HTTP.ConsoleTrustedProxy))
	cs.add("results.journal", checkJournal(c.Results.Journal))
	cs.add("retention.prune_after", checkPruneAfter(c.Retention.PruneAfter))
	cs.add("retention.archive_dir", checkArchiveDir(c.Retention.ArchiveDir))
	return cs
}

// message turns a parse result into a check message.
func message[T any](_ T, err error) string {
	if err != nil {
		return err.Error()
	}
	return ""
}

func positive(d time.Duration) string {
	if d <= 0 {
		return fmt.Sprintf("must be more than 0, got %s", FormatDuration(d))
	}
	return ""
}

func notNegative(d time.Duration) string {
	if d < 0 {
		return fmt.Sprintf("must not be negative, got %s", FormatDuration(d))
	}
	return ""
}

func notBelow(d, floor time.Duration, floorKey string) string {
	if d < floor {
		return fmt.Sprintf("must not be less than %s (%s), got %s", floorKey, FormatDuration(floor), FormatDuration(d))
	}
	return ""
}

func atLeast(n, lo int) string {
	if n < lo {
		return fmt.Sprintf("must be at least %d, got %d", lo, n)
	}
	return ""
}

func between(n, lo, hi int) string {
	if n < lo || n > hi {
		return fmt.Sprintf("must be between %d and %d, got %d", lo, hi, n)
	}
	return ""
}

// checkRate allows 0 (unlimited) and any finite positive rate.
func checkRate(r float64) string {
	if math.IsNaN(r) || math.IsInf(r, 0) || r < 0 {
		return fmt.Sprintf("must be 0 (unlimited) or a positive number of sends per second, got %v", r)
	}
	return ""
}

// checkCodes rejects empty, padded, duplicate and success codes. An empty
// list is allowed: it means no API code is retried.
func checkCodes(codes []string) string {
	seen := map[string]bool{}
	for i, code := range codes {
		switch {
		case code == "":
			return fmt.Sprintf("item %d is empty", i+1)
		case strings.TrimSpace(code) != code || strings.ContainsAny(code, " \t,"):
			return fmt.Sprintf("%q must not contain spaces or commas", code)
		case code == sender.CodeSent:
			return fmt.Sprintf("%q is the success code and cannot be retried", code)
		case seen[code]:
			return fmt.Sprintf("%q is listed twice", code)
		}
		seen[code] = true
	}
	return ""
}

// checkTimezone insists on a loadable, explicit zone name; time.LoadLocation
// would quietly read "" as UTC.
func checkTimezone(name string) string {
	hint := "use Local, UTC or an IANA name such as Asia/Shanghai"
	if name == "" {
		return "must not be empty; " + hint
	}
	if _, err := time.LoadLocation(name); err != nil {
		return fmt.Sprintf("%q is not a known time zone; %s", name, hint)
	}
	return ""
}

// checkListen accepts "" (disabled) or host:port with a numeric port; an
// empty host (":9090") listens on all interfaces.
func checkListen(addr string) string {
	if addr == "" {
		return ""
	}
	_, port, err := net.SplitHostPort(addr)
	if err == nil {
		n, perr := strconv.Atoi(port)
		if perr == nil && n >= 0 && n <= 65535 {
			return ""
		}
	}
	return fmt.Sprintf("%q is not host:port (e.g. 127.0.0.1:9090 or :9090)", addr)
}

// checkJournal accepts "" (off) or an absolute path to a file: a relative
// one would follow the working directory, which cron, systemd and a shell
// each set differently, and a replay would look in the wrong place.
func checkJournal(path string) string {
	switch {
	case path == "":
		return ""
	case strings.TrimSpace(path) != path:
		return fmt.Sprintf("%q must not start or end with spaces", path)
	case !filepath.IsAbs(path):
		return fmt.Sprintf("%q is not an absolute path (e.g. /var/lib/broadcaster/results.journal)", path)
	case strings.HasSuffix(path, "/") || filepath.Base(path) == "." || filepath.Base(path) == "..":
		return fmt.Sprintf("%q names a directory; name the journal file in it (e.g. %s)", path, filepath.Join(path, "results.journal"))
	}
	return ""
}

// checkPruneAfter accepts 0 (never) or at least campaign.MinRetention: a
// shorter age is a typo ("90m" for "90d") that would drop months of history.
func checkPruneAfter(d time.Duration) string {
	if d == 0 || d >= campaign.MinRetention {
		return ""
	}
	return fmt.Sprintf("must be 0 (never) or at least %s, got %s", FormatDuration(campaign.MinRetention), FormatDuration(d))
}

// checkArchiveDir accepts "" (no archive) or an absolute directory, for the
// same reason as checkJournal: a relative one would follow the working
// directory of whoever started the daemon.
func checkArchiveDir(path string) string {
	switch {
	case path == "":
		return ""
	case strings.TrimSpace(path) != path:
		return fmt.Sprintf("%q must not start or end with spaces", path)
	case !filepath.IsAbs(path):
		return fmt.Sprintf("%q is not an absolute path (e.g. /var/lib/broadcaster/archive)", path)
	}
	return ""
}

// checkBaseURL accepts "" (set later or not needed) or an absolute http(s)
// URL. Messages show the URL redacted in case it carries credentials.
func checkBaseURL(s string) string {
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Sprintf("%q is not an absolute http(s) URL (e.g. https://api.example.com)", RedactURL(s))
	}
	return ""
}

// checkDatabaseURL catches URLs of the wrong kind early; the keyword/value
// form and the details are left to the driver at connect time.
func checkDatabaseURL(s string) string {
	scheme, _, isURL := strings.Cut(s, "://")
	if !isURL || scheme == "postgres" || scheme == "postgresql" {
		return ""
	}
	return fmt.Sprintf("%q is not a PostgreSQL connection string (postgres://user:password@host/db or host=... dbname=...)", RedactURL(s))
}

// minTokenLength keeps console tokens out of guessing range even before the
// login rate limit applies.
const minTokenLength = 16

// checkConsole insists on a listener for the console to be served on.
func checkConsole(h HTTP) string {
	if h.Console && h.Listen == "" {
		return "needs http.listen: the console is served on that address"
	}
	return ""
}

// checkReadToken requires a long enough read token when the console is on:
// without one, anybody who reaches the port would read customer identifiers.
func checkReadToken(h HTTP) string {
	switch {
	case h.Console && h.ConsoleReadToken == "":
		return "is not set; http.console needs it (env BROADCASTER_HTTP_CONSOLE_READ_TOKEN)"
	case h.ConsoleReadToken != "" && len(h.ConsoleReadToken) < minTokenLength:
		return fmt.Sprintf("must be at least %d characters long", minTokenLength)
	}
	return ""
}

// checkWriteToken allows none (a read-only console) or a long enough token
// distinct from the read token, so that read access never grants writes.
func checkWriteToken(h HTTP) string {
	switch {
	case h.ConsoleWriteToken == "":
		return ""
	case len(h.ConsoleWriteToken) < minTokenLength:
		return fmt.Sprintf("must be at least %d characters long", minTokenLength)
	case h.ConsoleWriteToken == h.ConsoleReadToken:
		return "must differ from http.console_read_token, or read access would allow writes"
	}
	return ""
}

// checkCIDR accepts "" (no proxy trusted) or a CIDR such as 10.0.0.0/8.
func checkCIDR(s string) string {
	if s == "" {
		return ""
	}
	if _, err := netip.ParsePrefix(s); err != nil {
		return fmt.Sprintf("%q is not a CIDR (e.g. 10.0.0.0/8 or 127.0.0.1/32)", s)
	}
	return ""
}
