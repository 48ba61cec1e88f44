package console_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/broadcaster/broadcaster/campaign"
	"github.com/broadcaster/broadcaster/campaign/campaigntest"
	"github.com/broadcaster/broadcaster/console"
	"github.com/broadcaster/broadcaster/db"
	"github.com/broadcaster/broadcaster/internal/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m, dbtest.WithMigrate(db.Migrate)) }

const (
	readToken  = "read-token-0123456789"
	writeToken = "write-token-0123456789"
)

var (
	_ console.Reader = (*db.Store)(nil)
	_ console.Writer = (*db.Store)(nil)
)

// fixture is a console on a database of its own holding one recurring
// campaign ("spring", recipients a, b, c, still active) with one completed
// run: a sent, b failed, c unknown.
type fixture struct {
	t          *testing.T
	pool       *pgxpool.Pool
	console    *console.Console
	clock      *campaigntest.Clock
	campaignID int64
	runID      int64
}

func newFixture(t *testing.T, proxy string) *fixture {
	t.Helper()
	pool := dbtest.New(t)
	store := db.NewStore(pool, "test:1")
	ctx := context.Background()
	f := &fixture{t: t, pool: pool, clock: campaigntest.NewClock(time.Now())}
	f.campaignID = f.int64(`WITH t AS (
		    INSERT INTO applet_templates (name, img_url, content)
		    VALUES ('t', 'https://cdn.example.com/a.jpg', '<msg><appmsg><title>Spring sale</title><des>Ten percent</des><weappinfo><pagepath>pages/index</pagepath></weappinfo></appmsg></msg>')
		    RETURNING id)
		INSERT INTO campaigns (name, template_id, w_id, recipients, start_at, schedule)
		SELECT 'spring', id, 'wid-secret-account', ARRAY['wxid_a','wxid_b','wxid_c'], now() - interval '1 second', '0 3 * * *'
		FROM t RETURNING id`)
	run, err := store.CreateRun(ctx, f.campaignID, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	f.runID = run.ID
	// Sent as the dispatcher records results: a sent, b failed (1002), c
	// unknown; the run completes.
	ds, err := store.Claim(ctx, campaign.ClaimParams{EnsureAccounts: true, Limit: 10, Lease: time.Minute})
	if err != nil || len(ds) != 3 {
		t.Fatalf("claim: %d, %v", len(ds), err)
	}
	results := make([]campaign.Result, len(ds))
	for i, d := range ds {
		results[i] = campaign.Result{Delivery: d, Attempt: campaign.Attempt{StartedAt: time.Now(), HTTPStatus: 200}}
		r := &results[i]
		switch d.WcID {
		case "wxid_a":
			r.Status, r.Attempt.Outcome, r.Attempt.Code, r.Attempt.Response = campaign.DeliverySent, campaign.OutcomeSent, "1000", `{"code":"1000"}`
			r.Attempt.Receipt = &campaign.Receipt{MsgID: 1, NewMsgID: 2, CreateTime: 3, WcID: d.WcID}
		case "wxid_b":
			r.Status, r.Error, r.Attempt.Outcome, r.Attempt.Code = campaign.DeliveryFailed, "blocked", campaign.OutcomeFailed, "1002"
			r.Attempt.Error, r.Attempt.Response = "blocked", `{"code":"1002","message":"blocked"}`
		default:
			r.Status, r.Error, r.Attempt.Outcome, r.Attempt.HTTPStatus = campaign.DeliveryUnknown, "timeout", campaign.OutcomeAmbiguous, 0
		}
	}
	if _, err := store.Record(ctx, results); err != nil {
		t.Fatal(err)
	}
	if n := f.int64(`SELECT count(*) FROM campaign_runs WHERE id = $1 AND status = 'completed'`, run.ID); n != 1 {
		t.Fatal("the fixture's run did not complete")
	}
	cfg := console.Config{ReadToken: readToken, WriteToken: writeToken, Location: time.UTC,
		Pacing: campaign.DefaultPacing(), Clock: f.clock}
	if proxy != "" {
		cfg.TrustedProxy = netip.MustParsePrefix(proxy)
	}
	f.console, err = console.New(cfg, store, store)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) exec(sql string, args ...any) {
	f.t.Helper()
	if _, err := f.pool.Exec(context.Background(), sql, args...); err != nil {
		f.t.Fatalf("%s: %v", sql, err)
	}
}

func (f *fixture) int64(sql string, args ...any) int64 {
	f.t.Helper()
	var v int64
	if err := f.pool.QueryRow(context.Background(), sql, args...).Scan(&v); err != nil {
		f.t.Fatalf("%s: %v", sql, err)
	}
	return v
}

// request is one request to the console, answered in memory.
type request struct {
	method, target string
	form           url.Values
	header         map[string]string
	fields         http.Header // added field by field, for headers sent more than once
	cookies        []*http.Cookie
	remote         string
	tls            bool
}

func (f *fixture) do(rq request) *httptest.ResponseRecorder {
	f.t.Helper()
	var body io.Reader
	if rq.form != nil {
		body = strings.NewReader(rq.form.Encode())
	}
	if rq.method == "" {
		rq.method = http.MethodGet
	}
	r := httptest.NewRequest(rq.method, rq.target, body)
	if rq.form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range rq.header {
		r.Header.Set(k, v)
	}
	for k, vs := range rq.fields {
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	for _, c := range rq.cookies {
		r.AddCookie(c)
	}
	if rq.remote != "" {
		r.RemoteAddr = rq.remote
	}
	if rq.tls {
		r.TLS = &tls.ConnectionState{}
	}
	w := httptest.NewRecorder()
	f.console.ServeHTTP(w, r)
	return w
}

func bearer(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token, "X-Operator": "alice"}
}

// login logs in through the form and returns the session cookie.
func (f *fixture) login(name, token string) *http.Cookie {
	f.t.Helper()
	w := f.do(request{method: http.MethodPost, target: "/login", form: url.Values{"name": {name}, "token": {token}, "next": {"/runs"}}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/runs" {
		f.t.Fatalf("login: %d %s", w.Code, w.Body)
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == "broadcaster_session" {
			return c
		}
	}
	f.t.Fatal("login set no session cookie")
	return nil
}

var csrfField = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

// csrf reads the form token from a page.
func (f *fixture) csrf(session *http.Cookie, page string) string {
	f.t.Helper()
	w := f.do(request{target: page, cookies: []*http.Cookie{session}})
	m := csrfField.FindStringSubmatch(w.Body.String())
	if m == nil {
		f.t.Fatalf("%s has no CSRF field: %s", page, w.Body)
	}
	return m[1]
}

func (f *fixture) campaignStatus() string {
	f.t.Helper()
	var s string
	if err := f.pool.QueryRow(context.Background(), `SELECT status FROM campaigns WHERE id = $1`, f.campaignID).Scan(&s); err != nil {
		f.t.Fatal(err)
	}
	return s
}

func TestEveryPageNeedsCredentials(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "")
	run, camp := "/runs/"+itoa(f.runID), "/campaigns/"+itoa(f.campaignID)
	for i, path := range []string{"/", "/runs", run, "/recipients?wc_id=wxid_b", "/campaigns", camp, "/accounts"} {
		w := f.do(request{target: path})
		if w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/login?next=") {
			t.Errorf("GET %s without credentials: %d %s", path, w.Code, w.Header().Get("Location"))
		}
		api := "/api" + path
		if path == "/" {
			api = "/api/now"
		}
		for _, h := range []map[string]string{nil, bearer("wrong-token-0123456789"), {"Authorization": "Basic " + readToken}} {
			// Each path from its own address, below the failed-login limit.
			if w := f.do(request{target: api, header: h, remote: "192.0.2." + itoa(int64(10+i)) + ":1"}); w.Code != http.StatusUnauthorized {
				t.Errorf("GET %s with %v: %d", api, h, w.Code)
			}
		}
		w = f.do(request{target: api, header: bearer(readToken)})
		if w.Code != http.StatusOK || !json.Valid(w.Body.Bytes()) {
			t.Errorf("GET %s with the read token: %d %s", api, w.Code, w.Body)
		}
		w = f.do(request{target: path, header: bearer(readToken)})
		if w.Code != http.StatusOK {
			t.Errorf("GET %s with the read token: %d", path, w.Code)
		}
		for _, secret := range []string{readToken, writeToken, "postgres://", "password"} {
			if strings.Contains(w.Body.String(), secret) {
				t.Errorf("GET %s shows %q", path, secret)
			}
		}
	}
	for _, path := range []string{"/campaigns/" + itoa(f.campaignID) + "/pause", "/runs/" + itoa(f.runID) + "/resend"} {
		if w := f.do(request{method: http.MethodPost, target: "/api" + path}); w.Code != http.StatusUnauthorized {
			t.Errorf("POST %s without credentials: %d", path, w.Code)
		}
	}
	if f.campaignStatus() != "active" {
		t.Error("a refused write changed the campaign")
	}
}

func TestWritesNeedTheWriteToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "")
	pause := "/api/campaigns/" + itoa(f.campaignID) + "/pause"
	if w := f.do(request{method: http.MethodPost, target: pause, header: bearer(readToken)}); w.Code != http.StatusForbidden {
		t.Errorf("pause with the read token: %d", w.Code)
	}
	session := f.login("bob", readToken)
	if w := f.do(request{method: http.MethodPost, target: "/campaigns/" + itoa(f.campaignID) + "/pause",
		cookies: []*http.Cookie{session}, form: url.Values{}}); w.Code != http.StatusForbidden {
		t.Errorf("pause with a read session: %d", w.Code)
	}
	if f.campaignStatus() != "active" {
		t.Fatal("a read-only write changed the campaign")
	}
	w := f.do(request{method: http.MethodPost, target: pause, header: bearer(writeToken), remote: "192.0.2.7:5555"})
	if w.Code != http.StatusOK || f.campaignStatus() != "paused" {
		t.Fatalf("pause with the write token: %d %s", w.Code, w.Body)
	}
	var who, cred, addr, action string
	err := f.pool.QueryRow(context.Background(),
		`SELECT who, credential, coalesce(address, ''), action FROM audit_log ORDER BY id DESC LIMIT 1`).Scan(&who, &cred, &addr, &action)
	if err != nil || who != "alice" || cred != "bearer-write" || addr != "192.0.2.7" || action != "pause" {
		t.Errorf("audit_log: %q %q %q %q, %v", who, cred, addr, action, err)
	}
	if w := f.do(request{method: http.MethodPost, target: pause, header: bearer(writeToken)}); w.Code != http.StatusConflict {
		t.Errorf("pausing a paused campaign: %d %s", w.Code, w.Body)
	}
}

func TestSessionWritesNeedTheCSRFToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "")
	session := f.login("carol", writeToken)
	camp := "/campaigns/" + itoa(f.campaignID)
	for _, form := range []url.Values{{}, {"csrf": {"0123"}}} {
		w := f.do(request{method: http.MethodPost, target: camp + "/pause", cookies: []*http.Cookie{session}, form: form})
		if w.Code != http.StatusForbidden {
			t.Errorf("pause with csrf %v: %d", form, w.Code)
		}
	}
	other := f.csrf(f.login("dave", writeToken), camp)
	w := f.do(request{method: http.MethodPost, target: camp + "/pause", cookies: []*http.Cookie{session}, form: url.Values{"csrf": {other}}})
	if w.Code != http.StatusForbidden || f.campaignStatus() != "active" {
		t.Fatalf("pause with another session's csrf: %d", w.Code)
	}
	token := f.csrf(session, camp)
	w = f.do(request{method: http.MethodPost, target: camp + "/pause", cookies: []*http.Cookie{session}, form: url.Values{"csrf": {token}}})
	if w.Code != http.StatusOK || f.campaignStatus() != "paused" {
		t.Fatalf("pause with the session's csrf: %d %s", w.Code, w.Body)
	}
	w = f.do(request{method: http.MethodPost, target: camp + "/resume", cookies: []*http.Cookie{session}, form: url.Values{"csrf": {token}}})
	if w.Code != http.StatusOK || f.campaignStatus() != "active" {
		t.Fatalf("resume: %d %s", w.Code, w.Body)
	}
	var who, cred string
	if err := f.pool.QueryRow(context.Background(), `SELECT who, credential FROM audit_log ORDER BY id DESC LIMIT 1`).Scan(&who, &cred); err != nil || who != "carol" || cred != "console-write" {
		t.Errorf("audit_log: %q %q %v", who, cred, err)
	}
	// Logging out ends the session.
	f.do(request{method: http.MethodPost, target: "/logout", cookies: []*http.Cookie{session}})
	if w := f.do(request{target: "/api/runs", cookies: []*http.Cookie{session}}); w.Code != http.StatusUnauthorized {
		t.Errorf("after logout: %d", w.Code)
	}
}

func TestCookies(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "10.0.0.0/8")
	tests := []struct {
		name   string
		rq     request
		secure bool
	}{
		{"plain HTTP", request{remote: "192.0.2.1:1"}, false},
		{"TLS", request{remote: "192.0.2.1:1", tls: true}, true},
		{"trusted proxy says https", request{remote: "10.1.2.3:1", header: map[string]string{"X-Forwarded-Proto": "https"}}, true},
		{"untrusted peer says https", request{remote: "192.0.2.1:1", header: map[string]string{"X-Forwarded-Proto": "https"}}, false},
	}
	for _, tt := range tests {
		tt.rq.method, tt.rq.target = http.MethodPost, "/login"
		tt.rq.form = url.Values{"name": {"erin"}, "token": {readToken}}
		w := f.do(tt.rq)
		cookies := w.Result().Cookies()
		if len(cookies) != 1 {
			t.Fatalf("%s: cookies %v", tt.name, cookies)
		}
		c := cookies[0]
		if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure != tt.secure {
			t.Errorf("%s: cookie %+v", tt.name, c)
		}
	}
}

func TestForwardedForOnlyFromTheTrustedProxy(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "10.0.0.0/8")
	pause := "/api/campaigns/" + itoa(f.campaignID) + "/"
	xff := map[string]string{"Authorization": "Bearer " + writeToken, "X-Forwarded-For": "203.0.113.9, 198.51.100.4"}
	// A proxy such as HAProxy appends a header field of its own; the
	// client's field comes first and is not believed.
	fields := http.Header{"X-Forwarded-For": {"203.0.113.9, 203.0.113.10", "198.51.100.5"}}
	for _, rq := range []request{
		{target: pause + "pause", header: xff, remote: "10.1.2.3:1"},
		{target: pause + "resume", header: xff, remote: "192.0.2.1:1"},
		{target: pause + "pause", header: bearer(writeToken), fields: fields, remote: "10.1.2.3:1"},
	} {
		rq.method = http.MethodPost
		if w := f.do(rq); w.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", rq.target, w.Code, w.Body)
		}
	}
	rows, err := f.pool.Query(context.Background(), `SELECT action || ' ' || address FROM audit_log ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"pause 198.51.100.4", "resume 192.0.2.1", "pause 198.51.100.5"}; !slices.Equal(got, want) {
		t.Errorf("audit addresses: %q, want %q", got, want)
	}
}

func TestFailedLoginsAreRateLimited(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "")
	try := func(token, remote string) int {
		return f.do(request{method: http.MethodPost, target: "/login", remote: remote,
			form: url.Values{"name": {"mallory"}, "token": {token}}}).Code
	}
	for i := range 5 {
		if code := try("guess-0123456789-"+itoa(int64(i)), "192.0.2.66:1"); code != http.StatusUnauthorized {
			t.Fatalf("failed login %d: %d", i+1, code)
		}
	}
	if code := try(readToken, "192.0.2.66:1"); code != http.StatusTooManyRequests {
		t.Errorf("sixth login, right token: %d, want 429", code)
	}
	if code := try(readToken, "192.0.2.67:1"); code != http.StatusSeeOther {
		t.Errorf("another address: %d", code)
	}
	f.clock.Advance(10 * time.Second)
	if code := try(readToken, "192.0.2.66:1"); code != http.StatusSeeOther {
		t.Errorf("after ten seconds: %d", code)
	}
}

// A wrong Bearer token is a failed login too: guessing through /api/ is
// limited like the form, and both count against the same address.
func TestWrongBearerTokensAreRateLimited(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "")
	try := func(token, remote string) *httptest.ResponseRecorder {
		t.Helper()
		return f.do(request{target: "/api/runs", header: bearer(token), remote: remote})
	}
	for range 3 {
		if w := try(readToken, "192.0.2.66:1"); w.Code != http.StatusOK {
			t.Fatalf("right token: %d", w.Code) // a right token spends nothing
		}
	}
	for i := range 5 {
		if w := try("guess-0123456789-"+itoa(int64(i)), "192.0.2.66:1"); w.Code != http.StatusUnauthorized {
			t.Fatalf("wrong token %d: %d", i+1, w.Code)
		}
	}
	for _, token := range []string{"guess-0123456789-5", readToken} {
		if w := try(token, "192.0.2.66:1"); w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "10" {
			t.Errorf("sixth try (%s): %d, Retry-After %q; want 429", token[:5], w.Code, w.Header().Get("Retry-After"))
		}
	}
	if w := f.do(request{target: "/runs", header: bearer("guess-0123456789-6"), remote: "192.0.2.66:1"}); w.Code != http.StatusTooManyRequests {
		t.Errorf("page with a wrong token after the limit: %d", w.Code)
	}
	if w := try(readToken, "192.0.2.67:1"); w.Code != http.StatusOK {
		t.Errorf("right token from another address: %d", w.Code)
	}
	f.clock.Advance(10 * time.Second)
	if w := try(readToken, "192.0.2.66:1"); w.Code != http.StatusOK {
		t.Errorf("after ten seconds: %d", w.Code)
	}
	// The form and the API share one allowance.
	for i := range 4 {
		try("guess-0123456789-"+itoa(int64(i)), "192.0.2.68:1")
	}
	w := f.do(request{method: http.MethodPost, target: "/login", remote: "192.0.2.68:1",
		form: url.Values{"name": {"mallory"}, "token": {"guess-0123456789"}}})
	if w.Code != http.StatusUnauthorized {
		t.Fatalf("fifth failure, through the form: %d", w.Code)
	}
	if w := try(readToken, "192.0.2.68:1"); w.Code != http.StatusTooManyRequests {
		t.Errorf("after four wrong tokens and a failed form login: %d", w.Code)
	}
}

// Parallel attempts are counted before the next is compared, even when
// comparing takes a while.
func TestLoginLimiterCountsParallelFailures(t *testing.T) {
	t.Parallel()
	l := console.NewLoginLimiter(campaigntest.NewClock(time.Now()))
	var compared atomic.Int64
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			<-start
			if l.Fail("192.0.2.66", true) {
				compared.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if n := compared.Load(); n != 5 {
		t.Errorf("50 parallel failures: %d compared, want 5", n)
	}
}

// The limiter remembers a bounded number of addresses, forgetting the least
// recently seen: new addresses do not reset one that keeps guessing.
func TestLoginLimiterForgetsTheLeastRecentAddress(t *testing.T) {
	t.Parallel()
	l := console.NewLoginLimiter(campaigntest.NewClock(time.Now()))
	for range 5 {
		l.Fail("192.0.2.66", false)
	}
	for i := range console.MaxAddresses + 1 {
		if i%1000 == 0 && l.Fail("192.0.2.66", false) {
			t.Fatalf("after %d other addresses, the guessing address was forgotten", i)
		}
		l.Fail("other-"+itoa(int64(i)), false)
	}
	if l.Fail("192.0.2.66", false) {
		t.Error("the guessing address was forgotten")
	}
}

// Redirects after login and after switching languages stay on this site.
func TestRedirectsStayOnThisSite(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "")
	tests := []struct{ next, want string }{
		{"/runs?status=failed", "/runs?status=failed"},
		{"/recipients?wc_id=wxid_b", "/recipients?wc_id=wxid_b"},
		{"/runs/7", "/runs/7"},
		{"", "/"},
		{"/\t/evil.example", "/"},
		{"/\n/evil.example", "/"},
		{"/\r\n/evil.example", "/"},
		{"/\x7f/evil.example", "/"},
		{"//evil.example", "/"},
		{"/\\evil.example", "/"},
		{"\\\\evil.example", "/"},
		{"/runs\\..\\evil", "/"},
		{"https://evil.example/", "/"},
		{"javascript:alert(1)", "/"},
		{"evil.example", "/"},
	}
	for _, tt := range tests {
		w := f.do(request{target: "/lang/en?back=" + url.QueryEscape(tt.next)})
		if got := w.Header().Get("Location"); w.Code != http.StatusSeeOther || got != tt.want {
			t.Errorf("/lang/en?back=%q: %d %q, want %q", tt.next, w.Code, got, tt.want)
		}
		w = f.do(request{method: http.MethodPost, target: "/login",
			form: url.Values{"name": {"erin"}, "token": {readToken}, "next": {tt.next}}})
		if got := w.Header().Get("Location"); w.Code != http.StatusSeeOther || got != tt.want {
			t.Errorf("login with next=%q: %d %q, want %q", tt.next, w.Code, got, tt.want)
		}
	}
}

func TestResendThroughTheConsole(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "")
	resend := "/api/runs/" + itoa(f.runID) + "/resend"
	w := f.do(request{method: http.MethodPost, target: resend, header: bearer(writeToken),
		form: url.Values{"status": {"failed", "unknown"}}})
	if w.Code != http.StatusOK {
		t.Fatalf("resend: %d %s", w.Code, w.Body)
	}
	var got struct {
		Warning string
		Resend  campaign.ResendResult
	}
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Resend.NewRunID == 0 || got.Resend.Recipients != 2 || got.Resend.Unknown != 1 || got.Warning == "" {
		t.Errorf("resend answer: %+v", got)
	}
	var wcIDs string
	if err := f.pool.QueryRow(context.Background(), `SELECT string_agg(wc_id, ',' ORDER BY wc_id) FROM deliveries WHERE run_id = $1`,
		got.Resend.NewRunID).Scan(&wcIDs); err != nil || wcIDs != "wxid_b,wxid_c" {
		t.Errorf("new run's recipients: %q, %v", wcIDs, err)
	}
	if w := f.do(request{method: http.MethodPost, target: "/api/runs/999999/resend", header: bearer(writeToken),
		form: url.Values{"status": {"failed"}}}); w.Code != http.StatusNotFound {
		t.Errorf("resend of a missing run: %d", w.Code)
	}
}

func TestPagesShowWhatOperatorsAsk(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "")
	tests := []struct {
		path string
		want []string
	}{
		{"/runs/" + itoa(f.runID) + "?status=failed", []string{"wxid_b", "blocked", "<svg", "1002"}},
		{"/runs/" + itoa(f.runID) + "?code=1002", []string{"wxid_b"}},
		{"/recipients?wc_id=wxid_b", []string{"blocked", "{&#34;code&#34;:&#34;1002&#34;", "attempts: 1 ·"}},
		{"/campaigns/" + itoa(f.campaignID), []string{"Spring sale", "Ten percent", "pages/index", "https://cdn.example.com/a.jpg", ">3 recipients<"}},
		{"/runs?campaign=" + itoa(f.campaignID) + "&status=completed", []string{"spring"}},
	}
	for _, tt := range tests {
		body := f.do(request{target: tt.path, header: bearer(readToken)}).Body.String()
		for _, s := range tt.want {
			if !strings.Contains(body, s) {
				t.Errorf("%s lacks %q", tt.path, s)
			}
		}
	}
	body := f.do(request{target: "/runs/" + itoa(f.runID) + "?status=failed", header: bearer(readToken)}).Body.String()
	if strings.Contains(body, ">wxid_a<") {
		t.Error("the failed filter shows a sent delivery")
	}
	if w := f.do(request{target: "/runs?status=bogus", header: bearer(readToken)}); w.Code != http.StatusBadRequest {
		t.Errorf("bad status filter: %d", w.Code)
	}
}

func TestLanguages(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "")
	get := func(h map[string]string, cookies ...*http.Cookie) string {
		h["Authorization"] = "Bearer " + readToken
		return f.do(request{target: "/runs", header: h, cookies: cookies}).Body.String()
	}
	if b := get(map[string]string{"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}); !strings.Contains(b, "批次") || !strings.Contains(b, `lang="zh-CN"`) {
		t.Error("Accept-Language zh-CN did not give Chinese")
	}
	if b := get(map[string]string{"Accept-Language": "en-GB"}); !strings.Contains(b, ">Runs<") {
		t.Error("Accept-Language en-GB did not give English")
	}
	w := f.do(request{target: "/lang/zh?back=/runs"})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/runs" {
		t.Fatalf("switch: %d %s", w.Code, w.Header().Get("Location"))
	}
	if b := get(map[string]string{"Accept-Language": "en"}, w.Result().Cookies()...); !strings.Contains(b, "批次") {
		t.Error("the switch's cookie did not win over Accept-Language")
	}
	if w := f.do(request{target: "/lang/en?back=//evil.example"}); w.Header().Get("Location") != "/" {
		t.Errorf("open redirect: %s", w.Header().Get("Location"))
	}
}

// Every string the templates translate has its Chinese.
func TestChineseCatalogueIsComplete(t *testing.T) {
	t.Parallel()
	files, err := os.ReadDir("templates")
	if err != nil {
		t.Fatal(err)
	}
	literal := regexp.MustCompile(`\{\{t "([^"]+)"\}\}`)
	for _, file := range files {
		b, err := os.ReadFile("templates/" + file.Name())
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range literal.FindAllStringSubmatch(string(b), -1) {
			if !console.Translated(m[1]) {
				t.Errorf("%s: %q has no Chinese", file.Name(), m[1])
			}
		}
	}
	for _, s := range console.DynamicTexts() {
		if !console.Translated(s) {
			t.Errorf("%q has no Chinese", s)
		}
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// The README's Console section documents what is served: each page and its
// JSON twin answers, and each screenshot it shows exists.
func TestREADMEConsoleSection(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	start := strings.Index(string(readme), "\n## Console\n")
	if start < 0 {
		t.Fatal("README has no Console section")
	}
	section := string(readme)[start:]
	section = section[:strings.Index(section[1:], "\n## ")+1]
	f := newFixture(t, "")
	ids := strings.NewReplacer("{id}", itoa(f.runID), "…", "wxid_b")
	paths := regexp.MustCompile("`(/[a-z/{}?_=…]*)`").FindAllStringSubmatch(section, -1)
	if len(paths) < 10 {
		t.Fatalf("found %d paths in the Console section", len(paths))
	}
	for _, m := range paths {
		path := ids.Replace(m[1])
		if strings.Contains(path, "/campaigns/") {
			path = strings.Replace(path, itoa(f.runID), itoa(f.campaignID), 1)
		}
		method := http.MethodGet
		if path == "/metrics" || (path != "/" && strings.HasSuffix(path, "/")) {
			continue // served beside the console; a prefix
		}
		if strings.HasSuffix(path, "/pause") || strings.HasSuffix(path, "/resume") || strings.HasSuffix(path, "/cancel") ||
			strings.HasSuffix(path, "/resend") {
			continue // the writes are tested above; "/resume" alone is not a path
		}
		w := f.do(request{method: method, target: path, header: bearer(readToken)})
		if w.Code != http.StatusOK {
			t.Errorf("README documents %s: %d", m[1], w.Code)
		}
	}
	for _, action := range []string{"pause", "resume", "cancel"} {
		w := f.do(request{method: http.MethodPost, target: "/api/campaigns/" + itoa(f.campaignID) + "/" + action, header: bearer(writeToken)})
		if w.Code != http.StatusOK {
			t.Errorf("POST %s: %d %s", action, w.Code, w.Body)
		}
	}
	shots := regexp.MustCompile(`\(docs/screenshots/([a-z]+-(en|zh)\.png)\)`).FindAllStringSubmatch(section, -1)
	files, _ := os.ReadDir("../docs/screenshots")
	if len(shots) != len(files) || len(shots) < 14 {
		t.Errorf("README shows %d screenshots, docs/screenshots holds %d", len(shots), len(files))
	}
	for _, m := range shots {
		if _, err := os.Stat("../docs/screenshots/" + m[1]); err != nil {
			t.Errorf("README shows a missing screenshot: %v", err)
		}
	}
	for _, s := range []string{"http.console_trusted_proxy", "X-Forwarded-For", "Secure", "make console", "make screenshots"} {
		if !strings.Contains(section, s) {
			t.Errorf("the Console section does not mention %s", s)
		}
	}
}

// A completed campaign still sends while a resend of it is open: its page
// offers Pause and Cancel, the pause is allowed, and the Accounts page
// shows the database role that made it beside the operator's name.
func TestCompletedCampaignCanBePaused(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "")
	f.exec(`UPDATE campaigns SET status = 'completed' WHERE id = $1`, f.campaignID)
	camp := "/campaigns/" + itoa(f.campaignID)
	body := f.do(request{target: camp, cookies: []*http.Cookie{f.login("erin", writeToken)}}).Body.String()
	for s, want := range map[string]bool{`id="pause"`: true, `id="cancel"`: true, `id="resume"`: false} {
		if strings.Contains(body, s) != want {
			t.Errorf("completed campaign's page shows %s: %v, want %v", s, !want, want)
		}
	}
	if w := f.do(request{method: http.MethodPost, target: "/api" + camp + "/pause", header: bearer(writeToken)}); w.Code != http.StatusOK || f.campaignStatus() != "paused" {
		t.Fatalf("pause a completed campaign: %d %s", w.Code, w.Body)
	}
	var role string
	if err := f.pool.QueryRow(context.Background(), `SELECT session_user`).Scan(&role); err != nil {
		t.Fatal(err)
	}
	body = f.do(request{target: "/accounts", header: bearer(writeToken)}).Body.String()
	if !strings.Contains(body, "<td>alice</td><td>bearer-write</td><td>"+role+"</td>") {
		t.Errorf("/accounts lacks the pause with its database role %q: %s", role, body)
	}
}
