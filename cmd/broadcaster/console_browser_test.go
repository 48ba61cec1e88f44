package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5"

	"github.com/broadcaster/broadcaster/sender/sendertest"
)

// Tokens of the console in the browser tests.
const (
	consoleRead  = "console-read-token-0123456789"
	consoleWrite = "console-write-token-0123456789"
)

// screenshotDir, when set (make screenshots), is where the browser test
// writes a PNG of each page in English and Chinese.
const screenshotDirEnv = "BROADCASTER_SCREENSHOTS"

// chromiumPath is Debian's Chromium, installed by scripts/ensure-chromium.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatal("no Chromium: run scripts/ensure-chromium (Debian: apt-get install chromium fonts-noto-cjk), or set CHROMIUM")
	return ""
}

// browser starts a headless Chromium of the test's own, which resolves no
// name but loopback addresses, so that nothing leaves the machine.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
	}
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
	})
	// The first call starts the browser, for as long as ctx lives: no
	// timeout on it (steps get theirs in do and value).
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// coverServer serves a small PNG as the campaigns' cover image.
func coverServer(t *testing.T) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 160, 128))
	for y := range 128 {
		for x := range 160 {
			img.Set(x, y, color.RGBA{R: uint8(40 + x/2), G: uint8(90 + y/2), B: 200, A: 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(buf.Bytes())
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/cover.png"
}

// consoleCampaigns inserts the sending campaign (n recipients, two of which
// the API refuses) and a recurring one to pause and resume.
func consoleCampaigns(t *testing.T, conn *pgx.Conn, cover string, n int) (sending, recurring int64) {
	t.Helper()
	seed, err := os.ReadFile("seed-appmsg.xml")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	err = conn.QueryRow(ctx, `
		WITH t AS (INSERT INTO applet_templates (name, img_url, content) VALUES ('云铺海购 nightly', $1, $2) RETURNING id)
		INSERT INTO campaigns (name, template_id, w_id, recipients)
		SELECT 'nightly sale', t.id, 'wid-browser', array_agg('wxid_' || g) FROM t, generate_series(1, $3) g GROUP BY t.id
		RETURNING id`, cover, "<msg>"+string(seed)+"</msg>", n).Scan(&sending)
	if err != nil {
		t.Fatal(err)
	}
	err = conn.QueryRow(ctx, `
		INSERT INTO campaigns (name, template_id, w_id, recipients, schedule)
		SELECT 'weekly digest', template_id, 'wid-browser', ARRAY['wxid_1', 'wxid_2'], 'CRON_TZ=Asia/Shanghai 0 21 * * 5'
		FROM campaigns WHERE id = $1 RETURNING id`, sending).Scan(&recurring)
	if err != nil {
		t.Fatal(err)
	}
	return sending, recurring
}

// TestConsoleInABrowser drives the console the way an operator would, in
// one headless Chromium, against the real daemon sending to the fake API:
// it is refused without credentials, watches progress move, filters
// failures, searches a recipient, is refused a write with read-only
// credentials, pauses and resumes a campaign, and re-sends a run's failures,
// which reach the API for exactly those recipients. With
// BROADCASTER_SCREENSHOTS set it also saves each page in both languages.
func TestConsoleInABrowser(t *testing.T) {
	t.Parallel()
	const n = 120
	refused := map[string]sendertest.Fault{"wxid_3": sendertest.Code("1002", "该用户拒收"), "wxid_7": sendertest.Code("1002", "该用户拒收")}
	env, api, conn := daemonEnv(t, sendertest.Config{Latency: 150 * time.Millisecond, Faults: refused})
	env["BROADCASTER_WORKERS_CONCURRENCY"] = "2"
	env["BROADCASTER_HTTP_LISTEN"] = "127.0.0.1:0"
	env["BROADCASTER_HTTP_CONSOLE"] = "true"
	env["BROADCASTER_HTTP_CONSOLE_READ_TOKEN"] = consoleRead
	env["BROADCASTER_HTTP_CONSOLE_WRITE_TOKEN"] = consoleWrite
	env["BROADCASTER_SCHEDULER_TIMEZONE"] = "Asia/Shanghai"
	d := startDaemon(t, env)
	addr, _ := d.waitLog(t, "serving /healthz and /metrics")["addr"].(string)
	base := "http://" + addr
	ctx := browser(t)
	sending, recurring := consoleCampaigns(t, conn, coverServer(t), n)
	shots := os.Getenv(screenshotDirEnv)

	// Refused without credentials: the page sends to the login form, the
	// API answers 401, /metrics stays open.
	do(t, ctx, "no credentials", chromedp.Navigate(base+"/runs"), chromedp.WaitVisible(chromedp.ID("login")))
	if path := value(t, ctx, "location", chromedp.Evaluate[string](`location.pathname`)); path != "/login" {
		t.Errorf("without credentials the console showed %s, not the login form", path)
	}
	if code, _ := get(t, base+"/api/now", ""); code != http.StatusUnauthorized {
		t.Errorf("/api/now without credentials: %d", code)
	}
	screenshot(t, ctx, shots, "login", "en")

	// Read-only: progress moves on the Now page.
	login(t, ctx, base, "rita", consoleRead)
	do(t, ctx, "now page", chromedp.Navigate(base+"/"))
	sent := `(() => { const e = document.querySelector('[data-f="Sent"]'); return e ? Number(e.textContent) : -1 })()`
	first := value(t, ctx, "progress", chromedp.Poll[int](fmt.Sprintf(`%s >= 0 ? %s + 1 : 0`, sent, sent)))
	value(t, ctx, "progress moves", chromedp.Poll[bool](fmt.Sprintf(`%s > %d`, sent, first-1)))
	if shots != "" { // the Now page while the run is in progress
		for _, lang := range []string{"en", "zh"} {
			do(t, ctx, "now in "+lang, chromedp.Navigate(base+"/lang/"+lang+"?back=/"), chromedp.WaitVisible(chromedp.ID("live-runs")))
			screenshot(t, ctx, shots, "now", lang)
		}
		do(t, ctx, "back to English", chromedp.Navigate(base+"/lang/en?back=/"))
	}

	// A write with read-only credentials is refused, and the page offers none.
	do(t, ctx, "read-only campaign page", chromedp.Navigate(fmt.Sprintf("%s/campaigns/%d", base, recurring)),
		chromedp.WaitVisible(chromedp.ID("campaign-status")))
	buttons := value(t, ctx, "buttons", chromedp.Evaluate[int](`document.querySelectorAll("#pause, #resume, #cancel").length`))
	status := value(t, ctx, "read-only write", chromedp.Evaluate[int](fmt.Sprintf(
		`fetch("/campaigns/%d/pause", {method: "POST", body: new URLSearchParams({csrf: "x"})}).then(r => r.status)`, recurring),
		chromedp.EvalAwaitPromise))
	if status != http.StatusForbidden || buttons != 0 {
		t.Errorf("read-only: write answered %d, %d write buttons shown", status, buttons)
	}
	if got := count(t, conn, `SELECT count(*) FROM campaigns WHERE id = $1 AND status = 'active'`, recurring); got != 1 {
		t.Error("a read-only write changed the campaign")
	}

	// Read and write from here on.
	logout(t, ctx)
	login(t, ctx, base, "wanda", consoleWrite)

	// The run finishes: the Now page notices by itself.
	do(t, ctx, "run ends", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("no-runs")))
	runID := int64(count(t, conn, `SELECT id FROM campaign_runs WHERE campaign_id = $1`, sending))

	// Filter failures.
	do(t, ctx, "filter failures", chromedp.Navigate(fmt.Sprintf("%s/runs/%d", base, runID)),
		chromedp.SetValue(chromedp.ID("filter-status"), "failed"))
	submit(t, ctx, "filter", chromedp.Click(chromedp.ID("filter")))
	rows := value(t, ctx, "failed rows", chromedp.Evaluate[[]string](
		`[...document.querySelectorAll("#deliveries tbody tr td:nth-child(2)")].map(td => td.textContent)`))
	slices.Sort(rows)
	if !slices.Equal(rows, []string{"wxid_3", "wxid_7"}) {
		t.Errorf("failed deliveries shown: %v", rows)
	}

	// Search a recipient: every attempt with the raw answer.
	do(t, ctx, "search recipient", chromedp.Navigate(base+"/recipients"),
		chromedp.SendKeys(chromedp.ID("wc-id"), "wxid_3"))
	submit(t, ctx, "search", chromedp.Click(chromedp.ID("search")))
	if answer := value(t, ctx, "raw answer", chromedp.Text(chromedp.CSS("pre.raw"))); !strings.Contains(answer, "1002") {
		t.Errorf("raw answer of wxid_3: %q", answer)
	}

	// Pause and resume.
	for _, action := range []string{"pause", "resume"} {
		do(t, ctx, action, chromedp.Navigate(fmt.Sprintf("%s/campaigns/%d", base, recurring)),
			chromedp.Click(chromedp.ID(action)), chromedp.WaitVisible(chromedp.ID("done")))
		want := map[string]string{"pause": "paused", "resume": "active"}[action]
		if got := count(t, conn, `SELECT count(*) FROM campaigns WHERE id = $1 AND status = $2`, recurring, want); got != 1 {
			t.Errorf("after %s the campaign is not %s", action, want)
		}
	}
	if got := count(t, conn, `SELECT count(*) FROM audit_log WHERE who = 'wanda' AND credential = 'console-write'
		AND action IN ('pause', 'resume') AND target = $1 AND address = '127.0.0.1'`, fmt.Sprintf("campaign %d", recurring)); got != 2 {
		t.Errorf("audit_log has %d of wanda's two writes", got)
	}

	// Screenshots of every page, before the resend adds a run.
	if shots != "" {
		takeScreenshots(t, ctx, base, shots, runID, recurring)
	}

	// Re-send the run's failures: the API gets exactly those recipients again.
	before := api.Stats().Requests
	do(t, ctx, "resend", chromedp.Navigate(fmt.Sprintf("%s/runs/%d", base, runID)),
		chromedp.Click(chromedp.ID("resend")), chromedp.WaitVisible(chromedp.ID("done")))
	if message := value(t, ctx, "resend message", chromedp.Text(chromedp.ID("done"))); !strings.Contains(message, "2 recipients") {
		t.Errorf("resend said %q", message)
	}
	waitCtx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := api.Wait(waitCtx, func(s sendertest.Stats) bool { return s.Requests >= before+2 }); err != nil {
		t.Fatal(err)
	}
	var again []string
	for _, r := range api.Requests()[before:] {
		again = append(again, r.WcID)
	}
	slices.Sort(again)
	if !slices.Equal(again, []string{"wxid_3", "wxid_7"}) {
		t.Errorf("after the resend the API got %v, want wxid_3 and wxid_7", again)
	}

	// /metrics needs no token and names no account or recipient.
	code, metrics := get(t, base+"/metrics", "")
	if code != http.StatusOK || strings.Contains(metrics, "wid-browser") || strings.Contains(metrics, "wxid_") {
		t.Errorf("/metrics: %d, or it names an account or a recipient", code)
	}
	if code := d.stop(t); code != 0 {
		t.Errorf("daemon exit %d", code)
	}
}

// takeScreenshots saves every page in English and Chinese.
func takeScreenshots(t *testing.T, ctx context.Context, base, dir string, runID, campaignID int64) {
	t.Helper()
	for _, lang := range []string{"en", "zh"} {
		do(t, ctx, "language "+lang, chromedp.Navigate(base+"/lang/"+lang+"?back=/"))
		for _, p := range []struct{ name, path string }{
			{"runs", "/runs"}, {"run", fmt.Sprintf("/runs/%d", runID)}, {"recipient", "/recipients?wc_id=wxid_3"},
			{"campaigns", "/campaigns"}, {"campaign", fmt.Sprintf("/campaigns/%d", campaignID)}, {"accounts", "/accounts"},
		} {
			do(t, ctx, "page "+p.name, chromedp.Navigate(base+p.path), chromedp.WaitVisible(chromedp.CSS("main")))
			screenshot(t, ctx, dir, p.name, lang)
		}
	}
	logout(t, ctx)
	screenshot(t, ctx, dir, "login", "zh")
	do(t, ctx, "language en", chromedp.Navigate(base+"/lang/en?back=/login"))
	login(t, ctx, base, "wanda", consoleWrite)
}

// stepTimeout bounds one browser step.
const stepTimeout = 30 * time.Second

// do runs browser steps, failing the test with what was being done.
func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// value runs one browser action and returns its value.
func value[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// submit runs steps that submit a form and waits until the page they ask
// for has loaded, so that no element of the page before is read in its
// place; the page must answer 200.
func submit(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, steps...)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if resp.Status != http.StatusOK {
		t.Fatalf("%s: HTTP %d", what, resp.Status)
	}
}

// login logs in at the form as name with token.
func login(t *testing.T, ctx context.Context, base, name, token string) {
	t.Helper()
	do(t, ctx, "log in as "+name, chromedp.Navigate(base+"/login"),
		chromedp.SendKeys(chromedp.ID("name"), name),
		chromedp.SendKeys(chromedp.ID("token"), token),
		chromedp.Click(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.ID("operator")))
}

// logout logs out with the header's button.
func logout(t *testing.T, ctx context.Context) {
	t.Helper()
	do(t, ctx, "log out", chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)), chromedp.WaitVisible(chromedp.ID("login")))
}

// screenshot saves the page as dir/NAME-LANG.png when dir is set.
func screenshot(t *testing.T, ctx context.Context, dir, name, lang string) {
	t.Helper()
	if dir == "" {
		return
	}
	buf := value(t, ctx, "screenshot "+name, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(dir, name+"-"+lang+".png"), buf, 0o644); err != nil {
		t.Fatal(err)
	}
}

// get fetches url without a browser, with a bearer token unless "".
func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
