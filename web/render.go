package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/parcelguard/parcelguard/notify"
)

//go:embed templates
var templateFS embed.FS

// pages holds one parsed template per page, each the layout plus the page.
type pages struct {
	byName map[string]*template.Template
}

// parsePages parses every templates/*.html page against the layout and the
// shared partials (templates/*.tmpl).
func parsePages() (*pages, error) {
	funcs := template.FuncMap{
		"rfc3339": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"lower":   strings.ToLower,
		// args bundles values for a partial template.
		"args": func(v ...any) []any { return v },
	}
	base, err := template.New("layout").Funcs(funcs).ParseFS(templateFS, "templates/*.tmpl")
	if err != nil {
		return nil, fmt.Errorf("web: parse layout: %w", err)
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	p := &pages{byName: map[string]*template.Template{}}
	for _, name := range names {
		short := strings.TrimSuffix(strings.TrimPrefix(name, "templates/"), ".html")
		t, err := base.Clone()
		if err != nil {
			return nil, err
		}
		if _, err := t.ParseFS(templateFS, name); err != nil {
			return nil, fmt.Errorf("web: parse %s: %w", name, err)
		}
		p.byName[short] = t
	}
	return p, nil
}

// view is what every page template gets: the language and its texts, the
// CSRF token for its forms, the app it belongs to, and the page's data.
type view struct {
	Lang  string
	Title string
	// App is "track", "console" or "courier": it picks the navigation.
	App string
	// CSRF is the token every form posts back in its csrf field.
	CSRF string
	// Path is the current path, for the language switcher's links.
	Path string
	// User is the signed-in operator or courier, nil on public pages.
	User *signedIn
	// Notice and Problem are a confirmation and an error to announce.
	Notice, Problem string
	Data            any
	msgs            catalog
}

// T returns the message key in the page's language.
func (v *view) T(key string, args ...any) string { return v.msgs.text(v.Lang, key, args...) }

// Time formats t in the locker's zone, in the page's language.
func (v *view) Time(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	if loc == nil {
		loc = time.UTC
	}
	return notify.FormatTime(v.Lang, t, loc)
}

// LangLink is one entry of the language switcher.
type LangLink struct {
	Lang, Name, Href string
	Current          bool
}

// Languages lists the switcher's entries for the current page.
func (v *view) Languages() []LangLink {
	out := make([]LangLink, 0, len(Languages))
	for _, l := range Languages {
		out = append(out, LangLink{Lang: l, Name: languageNames[l], Href: v.Path + "?lang=" + url.QueryEscape(l), Current: l == v.Lang})
	}
	return out
}

// newView starts the view of a page: its language negotiated, its CSRF
// token issued.
func (h *Handler) newView(w http.ResponseWriter, r *http.Request, app, title string) *view {
	v := &view{Lang: negotiate(w, r), App: app, Path: r.URL.Path, msgs: h.msgs}
	v.Title = v.T(title)
	v.CSRF = h.csrfToken(w, r)
	return v
}

// render writes the page with status. The page is rendered to a buffer
// first, so a template failure becomes a clean 500 rather than half a page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, v *view) {
	t, ok := h.pages.byName[name]
	if !ok {
		h.fail(w, r, fmt.Errorf("web: no page %q", name))
		return
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, "layout", v); err != nil {
		h.fail(w, r, fmt.Errorf("web: render %s: %w", name, err))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", v.Lang)
	w.Header().Set("Vary", "Accept-Language, Cookie")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes()) // the client went away; nothing to do
}

// fail logs an internal error and shows a plain error page without its
// details.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	h.log.Error("web page failed", "path", r.URL.Path, "client", h.client(r), "err", err)
	lang := negotiate(w, r)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = w.Write([]byte(h.msgs.text(lang, "error.internal") + "\n"))
}

// seeOther redirects after a successful form (POST, redirect, GET).
func seeOther(w http.ResponseWriter, r *http.Request, path string) {
	http.Redirect(w, r, path, http.StatusSeeOther)
}

// pathSafe escapes one path segment of a redirect.
func pathSafe(s string) string { return url.PathEscape(s) }

// queryEscape escapes a query value of a redirect.
func queryEscape(s string) string { return url.QueryEscape(s) }
