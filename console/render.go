package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/broadcaster/broadcaster/campaign"
)

// page is what a handler produces: the template to render it with, its
// title, and the data, which is also the /api/ answer.
type page struct {
	Template string
	Title    string // English; translated when rendered
	TitleID  int64  // shown after the title when not 0: "Run 12"
	Data     any
}

// pageFunc handles one page or action.
type pageFunc func(r *http.Request) (page, error)

// badRequest is a request the operator can correct (a malformed id or
// filter); its text is shown.
type badRequest struct{ msg string }

func (e *badRequest) Error() string { return e.msg }

// pages holds each page's template, per language, parsed once.
type pages struct {
	byLang map[string]map[string]*template.Template
}

// view is what every page's template receives.
type view struct {
	Lang, LangTag string
	Title         string
	Path          string // the request's path and query, for the language switch
	Who           principal
	CanWrite      bool
	Nav           string // which menu entry is current
	Page          any
}

// loadPages parses layout.html with each page template, once per language,
// each with its own translation function.
func loadPages(loc *time.Location) (*pages, error) {
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		return nil, err
	}
	p := &pages{byLang: map[string]map[string]*template.Template{}}
	for _, lang := range langs {
		p.byLang[lang] = map[string]*template.Template{}
		for _, name := range names {
			base := strings.TrimSuffix(path.Base(name), ".html")
			if base == "layout" {
				continue
			}
			t, err := template.New(base).Funcs(funcs(lang, loc)).ParseFS(templateFiles, "templates/layout.html", name)
			if err != nil {
				return nil, err
			}
			p.byLang[lang][base] = t
		}
	}
	return p, nil
}

// funcs are the templates' helpers in one language and zone.
func funcs(lang string, loc *time.Location) template.FuncMap {
	return template.FuncMap{
		"t":  func(s any) string { return translate(lang, fmt.Sprint(s)) },
		"tf": func(format string, args ...any) string { return fmt.Sprintf(translate(lang, format), args...) },
		"when": func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			return t.In(loc).Format("2006-01-02 15:04:05 MST")
		},
		"whenIn": func(t time.Time) string { return t.Format("2006-01-02 15:04 MST") },
		"pct": func(r campaign.RunProgress) string {
			if rate, ok := r.SuccessRate(); ok {
				return fmt.Sprintf("%.1f%%", rate*100)
			}
			return "—"
		},
		"eta": func(r campaign.LiveRun) string {
			if d, ok := r.ETA(); ok {
				return d.String()
			}
			return "—"
		},
		"rate": func(r campaign.LiveRun) string { return fmt.Sprintf("%.2f", r.RatePerSecond()) },
		"add":  func(a, b int) int { return a + b },
	}
}

// serve runs a pageFunc and answers with JSON under /api/, else HTML.
func (c *Console) serve(f pageFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := f(r)
		if err != nil {
			c.fail(w, r, statusOf(err), err)
			return
		}
		if isAPI(r) {
			writeJSON(w, http.StatusOK, p.Data)
			return
		}
		c.renderHTML(w, r, http.StatusOK, p.Template, p)
	})
}

// statusOf maps an error to its HTTP status.
func statusOf(err error) int {
	var refused *campaign.RefusedError
	var bad *badRequest
	switch {
	case errors.Is(err, campaign.ErrNotFound), errors.Is(err, errNotFound):
		return http.StatusNotFound
	case errors.As(err, &refused):
		return http.StatusConflict
	case errors.As(err, &bad):
		return http.StatusBadRequest
	case errors.Is(err, errUnauthorized):
		return http.StatusUnauthorized
	case errors.Is(err, errForbidden), errors.Is(err, errBadCSRF):
		return http.StatusForbidden
	}
	return http.StatusInternalServerError
}

// errorView is the data of the error page and of /api/ errors.
type errorView struct {
	Status  int    `json:"status"`
	Message string `json:"error"`
}

// fail answers with an error. Server errors are logged with their cause and
// shown without it: causes can name hosts and connection details.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, status int, err error) {
	msg := err.Error()
	var refused *campaign.RefusedError
	switch {
	case status >= 500:
		c.cfg.Log.Error().Err(err).Str("path", r.URL.Path).Msg("console: request failed")
		msg = "Something went wrong; the details are in the daemon's log."
	case errors.As(err, &refused):
		msg = refused.Reason
	case errors.Is(err, campaign.ErrNotFound):
		msg = errNotFound.Error()
	}
	if isAPI(r) {
		writeJSON(w, status, errorView{Status: status, Message: msg})
		return
	}
	c.renderHTML(w, r, status, "error", page{Template: "error", Title: "Error", Data: errorView{Status: status, Message: msg}})
}

// renderHTML executes a page template in the request's language.
func (c *Console) renderHTML(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	lang := chooseLanguage(r)
	t := c.pages.byLang[lang][name]
	p, isPage := data.(page)
	if !isPage {
		p = page{Template: name, Title: "Log in", Data: data}
	}
	who := who(r)
	title := translate(lang, p.Title)
	if p.TitleID != 0 {
		title += fmt.Sprintf(" %d", p.TitleID)
	}
	v := view{
		Lang: lang, LangTag: langTags[lang], Title: title, Path: r.URL.RequestURI(),
		Who: who, CanWrite: who.Perm == permWrite, Nav: navOf(r.URL.Path), Page: p.Data,
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		c.cfg.Log.Error().Err(err).Str("template", name).Msg("console: render failed")
		http.Error(w, "render failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// navOf names the menu entry a path belongs to.
func navOf(p string) string {
	if p == "/" {
		return "now"
	}
	first, _, _ := strings.Cut(strings.TrimPrefix(p, "/"), "/")
	return first
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
