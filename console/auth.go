package console

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/broadcaster/broadcaster/campaign"
)

// perm is what a credential allows.
type perm int

const (
	permNone perm = iota
	permRead
	permWrite
)

// Cookie names. The session cookie is HttpOnly and SameSite=Strict, and
// Secure whenever the request came over TLS.
const (
	sessionCookie = "broadcaster_session"
	langCookie    = "broadcaster_lang"
)

// sessionTTL is how long a login lasts: one night's shift.
const sessionTTL = 12 * time.Hour

// maxSessions bounds the sessions kept in memory; past it the oldest go.
const maxSessions = 10000

var (
	errUnauthorized = errors.New("a read or write token is needed")
	errForbidden    = errors.New("this needs the write token")
	errBadCSRF      = errors.New("the form is stale or was not sent by the console; reload the page and try again")
	errNotFound     = errors.New("not found")
	errTooMany      = errors.New("too many failed logins from this address; wait a minute")
)

// principal is who makes a request and what they may do.
type principal struct {
	Operator   string
	Credential string // for audit_log: console-read, console-write, bearer-read, bearer-write
	Perm       perm
	CSRF       string // the session's form token; "" for bearer calls, which need none
}

type principalKey struct{}

// who returns the request's principal, set by auth.
func who(r *http.Request) principal {
	p, _ := r.Context().Value(principalKey{}).(principal)
	return p
}

// session is one login: the operator's name, the permission of the token
// given, and the CSRF token bound to it.
type session struct {
	principal
	expires time.Time
}

// sessions are the logins of this process, in memory: a restart logs
// everybody out, which is acceptable for an operator console.
type sessions struct {
	clock campaign.Clock
	mu    sync.Mutex
	byID  map[string]session
}

func newSessions(clock campaign.Clock) *sessions {
	return &sessions{clock: clock, byID: map[string]session{}}
}

// create starts a session and returns its id.
func (s *sessions) create(p principal) string {
	id, csrf := randomToken(), randomToken()
	p.CSRF = csrf
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	if len(s.byID) >= maxSessions {
		s.evict(now)
	}
	s.byID[id] = session{principal: p, expires: now.Add(sessionTTL)}
	return id
}

// evict drops the expired sessions and, if none had expired, the oldest
// (the first to expire: every session lives sessionTTL). Call it with mu
// held, when the sessions are at maxSessions.
func (s *sessions) evict(now time.Time) {
	var oldest string
	for k, v := range s.byID {
		if !v.expires.After(now) {
			delete(s.byID, k)
		} else if oldest == "" || v.expires.Before(s.byID[oldest].expires) {
			oldest = k
		}
	}
	if len(s.byID) >= maxSessions {
		delete(s.byID, oldest)
	}
}

// get returns the live session id names.
func (s *sessions) get(id string) (principal, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.byID[id]
	if !ok || !v.expires.After(s.clock.Now()) {
		delete(s.byID, id)
		return principal{}, false
	}
	return v.principal, true
}

func (s *sessions) delete(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byID, id)
}

// randomToken returns 32 random bytes in hex.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}

// check compares a presented token with the configured ones in constant
// time and returns what it allows.
func (c *Console) check(token string) perm {
	if token == "" {
		return permNone
	}
	// Both comparisons always run, so timing says nothing about which matched.
	w := c.cfg.WriteToken != "" && subtle.ConstantTimeCompare([]byte(token), []byte(c.cfg.WriteToken)) == 1
	r := subtle.ConstantTimeCompare([]byte(token), []byte(c.cfg.ReadToken)) == 1
	switch {
	case w && c.write != nil:
		return permWrite
	case w, r:
		return permRead
	}
	return permNone
}

// auth lets a request through with a bearer token or a session cookie that
// allows need. A cookie-borne write must carry the session's CSRF token.
// Without credentials, pages redirect to the login form and /api/ answers
// 401; with too little permission, 403; after too many wrong tokens from
// the client's address, 429.
func (c *Console) auth(need perm, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := c.principal(r)
		switch {
		case errors.Is(err, errTooMany):
			w.Header().Set("Retry-After", strconv.Itoa(int(loginEvery/time.Second)))
			c.fail(w, r, http.StatusTooManyRequests, err)
			return
		case err != nil && isAPI(r):
			w.Header().Set("WWW-Authenticate", `Bearer realm="broadcaster console"`)
			c.fail(w, r, http.StatusUnauthorized, errUnauthorized)
			return
		case err != nil && r.Method == http.MethodGet:
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		case err != nil:
			c.fail(w, r, http.StatusUnauthorized, errUnauthorized)
			return
		case p.Perm < need:
			c.fail(w, r, http.StatusForbidden, errForbidden)
			return
		case need == permWrite && p.CSRF != "" &&
			subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(p.CSRF)) != 1:
			c.fail(w, r, http.StatusForbidden, errBadCSRF)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

// principal reads the request's credentials: a bearer token first (with
// X-Operator naming the operator), else the session cookie. A wrong
// Authorization header counts as a failed login of the client address, so
// tokens cannot be guessed through the API faster than through the form.
func (c *Console) principal(r *http.Request) (principal, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		var p perm
		addr := c.clientAddr(r)
		ok, allowed := c.logins.try(addr, func() bool {
			token, found := strings.CutPrefix(h, "Bearer ")
			p = c.check(strings.TrimSpace(token))
			return found && p != permNone
		})
		switch {
		case !allowed:
			return principal{}, errTooMany
		case !ok:
			c.cfg.Log.Warn().Str("address", addr).Msg("console: wrong bearer token")
			return principal{}, errUnauthorized
		}
		name := strings.TrimSpace(r.Header.Get("X-Operator"))
		if name == "" {
			name = "api"
		}
		cred := "bearer-read"
		if p == permWrite {
			cred = "bearer-write"
		}
		return principal{Operator: clip(name, 64), Credential: cred, Perm: p}, nil
	}
	ck, err := r.Cookie(sessionCookie)
	if err != nil {
		return principal{}, errUnauthorized
	}
	p, ok := c.sessions.get(ck.Value)
	if !ok {
		return principal{}, errUnauthorized
	}
	return p, nil
}

// clientAddr is the request's client address: the connection's peer, or,
// when the peer is the trusted proxy, the last address the proxy appended
// to X-Forwarded-For.
func (c *Console) clientAddr(r *http.Request) string {
	peer := peerAddr(r)
	if !c.fromProxy(peer) {
		return peer.String()
	}
	// A proxy may append its own header field instead of extending the
	// client's, so every field counts and the last hop is the proxy's.
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	if a, err := netip.ParseAddr(strings.TrimSpace(hops[len(hops)-1])); err == nil {
		return a.Unmap().String()
	}
	return peer.String()
}

// peerAddr is the address of the connection's other end.
func peerAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}

// fromProxy reports whether peer is the configured trusted proxy.
func (c *Console) fromProxy(peer netip.Addr) bool {
	return c.cfg.TrustedProxy.IsValid() && peer.IsValid() && c.cfg.TrustedProxy.Contains(peer)
}

// secure reports whether the browser reached us over TLS, directly or
// through the trusted proxy, so cookies can be marked Secure.
func (c *Console) secure(r *http.Request) bool {
	return r.TLS != nil || (c.fromProxy(peerAddr(r)) && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https"))
}

// setCookie sets a cookie with the console's attributes.
func (c *Console) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: c.secure(r),
	})
}

// loginForm shows the login page.
func (c *Console) loginForm(w http.ResponseWriter, r *http.Request) {
	c.renderHTML(w, r, http.StatusOK, "login", loginView{Next: safeNext(r.URL.Query().Get("next"))})
}

// loginView is the login page's data.
type loginView struct {
	Next, Name string
	Error      string
}

// login exchanges an operator name and a token for a session cookie. Failed
// attempts are rate-limited per client address.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	addr := c.clientAddr(r)
	view := loginView{Next: safeNext(r.PostFormValue("next")), Name: clip(strings.TrimSpace(r.PostFormValue("name")), 64)}
	token := r.PostFormValue("token")
	var p perm
	ok, allowed := c.logins.try(addr, func() bool {
		p = c.check(token)
		return p != permNone && view.Name != ""
	})
	if !allowed {
		view.Error = "Too many failed logins from this address; wait a minute."
		w.Header().Set("Retry-After", strconv.Itoa(int(loginEvery/time.Second)))
		c.renderHTML(w, r, http.StatusTooManyRequests, "login", view)
		return
	}
	if !ok {
		c.cfg.Log.Warn().Str("address", addr).Msg("console: failed login")
		view.Error = "Wrong token, or no name given."
		c.renderHTML(w, r, http.StatusUnauthorized, "login", view)
		return
	}
	cred := "console-read"
	if p == permWrite {
		cred = "console-write"
	}
	id := c.sessions.create(principal{Operator: view.Name, Credential: cred, Perm: p})
	c.setCookie(w, r, sessionCookie, id, int(sessionTTL/time.Second))
	c.cfg.Log.Info().Str("operator", view.Name).Str("credential", cred).Str("address", addr).Msg("console: login")
	http.Redirect(w, r, view.Next, http.StatusSeeOther)
}

// logout ends the session.
func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	if ck, err := r.Cookie(sessionCookie); err == nil {
		c.sessions.delete(ck.Value)
	}
	c.setCookie(w, r, sessionCookie, "", -1)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// safeNext keeps a redirect (after login, after switching languages) on
// this site: only a path starting with a single "/", with no scheme or host,
// re-serialised. Browsers drop tabs and newlines from URLs and read "\" as
// "/", so "/\t/evil.example" would leave the site; such bytes are refused.
func safeNext(next string) string {
	if strings.ContainsFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }) {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "/"
	}
	s := u.String()
	if !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || strings.HasPrefix(u.Path, "//") {
		return "/"
	}
	return s
}

// isAPI tells JSON calls from pages.
func isAPI(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/api/") }

// clip shortens s to at most n bytes on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
