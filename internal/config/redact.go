package config

import (
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/rs/zerolog"
)

// mask replaces passwords inside connection strings. It needs no escaping
// in URLs, and matches what net/url's URL.Redacted writes.
const mask = "xxxxx"

// redactedToken replaces a non-empty api.token; an empty one stays empty so
// a dump still shows that it is unset.
const redactedToken = "[redacted]"

// unparseable replaces a connection string too malformed to redact safely.
const unparseable = "[redacted: unparseable connection string]"

// Redacted returns a copy safe to log or print: api.token and the console
// tokens masked, and
// passwords removed from database.url and api.base_url.
func (c Config) Redacted() Config {
	c.Retry.Codes = slices.Clone(c.Retry.Codes)
	c.Database.URL = RedactURL(c.Database.URL)
	c.API.BaseURL = RedactURL(c.API.BaseURL)
	for _, secret := range []*string{&c.API.Token, &c.HTTP.ConsoleReadToken, &c.HTTP.ConsoleWriteToken} {
		if *secret != "" {
			*secret = redactedToken
		}
	}
	return c
}

// String lists every key as path=value, redacted, so printing a Config with
// %v or %s never leaks the token or a password.
func (c Config) String() string {
	r := c.Redacted()
	parts := make([]string, 0, 32)
	for _, f := range leaves(&r) {
		parts = append(parts, f.key.Path+"="+quoteIfNeeded(formatValue(f.value)))
	}
	return strings.Join(parts, " ")
}

// GoString makes %#v redacted too.
func (c Config) GoString() string { return "config.Config{" + c.String() + "}" }

// MarshalZerologObject lets callers log the effective configuration with
// logger.Info().Object("config", cfg), one nested object per section,
// redacted.
func (c Config) MarshalZerologObject(e *zerolog.Event) {
	r := c.Redacted()
	fields := leaves(&r)
	for start := 0; start < len(fields); {
		end := start
		d := zerolog.Dict()
		for ; end < len(fields) && fields[end].section == fields[start].section; end++ {
			addField(d, fields[end])
		}
		e.Dict(fields[start].section, d)
		start = end
	}
}

// addField logs numbers and booleans as JSON numbers and booleans, and
// durations in the same "15s" form as the file.
func addField(e *zerolog.Event, f leaf) {
	v := f.value
	switch {
	case isDuration(v):
		e.Str(f.name, formatValue(v))
	case v.Kind() == reflect.Int:
		e.Int(f.name, int(v.Int()))
	case v.Kind() == reflect.Float64:
		e.Float64(f.name, v.Float())
	case v.Kind() == reflect.Bool:
		e.Bool(f.name, v.Bool())
	case v.Kind() == reflect.Slice:
		e.Strs(f.name, v.Interface().([]string))
	default:
		e.Str(f.name, v.String())
	}
}

// quoteIfNeeded keeps String's key=value pairs unambiguous.
func quoteIfNeeded(s string) string {
	if s == "" || strings.ContainsAny(s, " \t\"'=") {
		return strconv.Quote(s)
	}
	return s
}

// RedactURL hides the password in a connection string, keeping the rest for
// diagnosis. It handles URLs (postgres://user:pass@host/db, including a
// password=... query parameter) and libpq keyword/value strings
// (host=h password=secret). A string it cannot parse is replaced entirely,
// since leaking a password is worse than a vague log line.
func RedactURL(s string) string {
	if s == "" {
		return ""
	}
	if strings.Contains(s, "://") {
		return redactURLForm(s)
	}
	return redactKeywordForm(s)
}

// sensitiveParam names connection parameters holding secrets.
func sensitiveParam(name string) bool {
	switch strings.ToLower(name) {
	case "password", "sslpassword":
		return true
	}
	return false
}

// redactURLForm masks the userinfo password and password query parameters,
// returning s untouched when there is nothing to hide.
func redactURLForm(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		// Multi-host URLs (h1:5432,h2:5432) and odd escapes defeat
		// url.Parse; fall back to a textual cut.
		return redactAuthority(s)
	}
	changed := false
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), mask)
		changed = true
	}
	if q, ok := maskQuery(u.RawQuery); ok {
		u.RawQuery = q
		changed = true
	}
	if !changed {
		return s
	}
	return u.String()
}

// redactAuthority masks what follows the first ':' of the userinfo, taking
// the last '@' as its end so a password containing '@' or '/' is still
// covered (over-masking is acceptable), then masks query passwords.
func redactAuthority(s string) string {
	i := strings.Index(s, "://") + len("://")
	head, rest := s[:i], s[i:]
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		if colon := strings.Index(rest[:at], ":"); colon >= 0 {
			rest = rest[:colon+1] + mask + rest[at:]
		}
	}
	if base, query, ok := strings.Cut(rest, "?"); ok {
		if q, changed := maskQuery(query); changed {
			rest = base + "?" + q
		}
	}
	return head + rest
}

// maskQuery masks password parameters in a raw query, keeping order and
// encoding of everything else.
func maskQuery(raw string) (string, bool) {
	if raw == "" {
		return raw, false
	}
	params := strings.Split(raw, "&")
	changed := false
	for i, p := range params {
		name, _, _ := strings.Cut(p, "=")
		if un, err := url.QueryUnescape(name); err == nil && sensitiveParam(un) {
			params[i] = name + "=" + mask
			changed = true
		}
	}
	return strings.Join(params, "&"), changed
}

// redactKeywordForm masks password values in a libpq keyword/value string,
// honouring spaces around '=', single quotes and backslash escapes.
func redactKeywordForm(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		j := skipSpace(s, i)
		b.WriteString(s[i:j])
		if j == len(s) {
			break
		}
		keyEnd := j
		for keyEnd < len(s) && s[keyEnd] != '=' && !isSpace(s[keyEnd]) {
			keyEnd++
		}
		eq := skipSpace(s, keyEnd)
		if eq == len(s) || s[eq] != '=' || keyEnd == j {
			return unparseable
		}
		valStart := skipSpace(s, eq+1)
		valEnd := valueEnd(s, valStart)
		b.WriteString(s[j:valStart])
		if sensitiveParam(s[j:keyEnd]) {
			b.WriteString(mask)
		} else {
			b.WriteString(s[valStart:valEnd])
		}
		i = valEnd
	}
	return b.String()
}

// isSpace matches libpq's notion of whitespace in keyword/value strings.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// skipSpace returns the index of the first non-space byte at or after i.
func skipSpace(s string, i int) int {
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	return i
}

// valueEnd returns the end of the value starting at i: a single-quoted
// string (to its closing quote) or a run of non-space bytes, where a
// backslash escapes the next byte in both.
func valueEnd(s string, i int) int {
	quoted := i < len(s) && s[i] == '\''
	if quoted {
		i++
	}
	for i < len(s) {
		switch {
		case s[i] == '\\':
			i += 2
			continue
		case quoted && s[i] == '\'':
			return i + 1
		case !quoted && isSpace(s[i]):
			return i
		}
		i++
	}
	return len(s)
}
