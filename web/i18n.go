package web

import (
	"embed"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// Languages are the languages every page is offered in, in the order the
// switcher lists them. English is the fallback.
var Languages = []string{"en", "de", "it", "pl"}

// languageNames are shown in the switcher, each in its own language.
var languageNames = map[string]string{"en": "English", "de": "Deutsch", "it": "Italiano", "pl": "Polski"}

//go:embed i18n/*.json
var catalogFS embed.FS

// catalog maps language → message key → text. Texts are fmt formats.
type catalog map[string]map[string]string

// loadCatalog reads the embedded message files. A missing language or
// key is a build defect that TestCatalogComplete catches.
func loadCatalog() (catalog, error) {
	c := catalog{}
	for _, lang := range Languages {
		b, err := catalogFS.ReadFile("i18n/" + lang + ".json")
		if err != nil {
			return nil, fmt.Errorf("web: messages for %s: %w", lang, err)
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("web: messages for %s: %w", lang, err)
		}
		c[lang] = m
	}
	return c, nil
}

// text returns the message key in lang, formatted with args. A key
// missing in lang falls back to English, then to the key itself, so a
// page never fails to render over a missing translation.
func (c catalog) text(lang, key string, args ...any) string {
	s, ok := c[lang][key]
	if !ok {
		if s, ok = c["en"][key]; !ok {
			s = key
		}
	}
	if len(args) == 0 {
		return s
	}
	return fmt.Sprintf(s, args...)
}

// langCookie remembers the language picked in the switcher.
const langCookie = "pg_lang"

// supported returns tag's base language if pages exist in it.
func supported(tag string) (string, bool) {
	base, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
	for _, l := range Languages {
		if base == l {
			return l, true
		}
	}
	return "", false
}

// negotiate picks the page language: an explicit ?lang= (the switcher,
// remembered in a cookie), then the remembered choice, then the best
// match in Accept-Language, then English.
func negotiate(w http.ResponseWriter, r *http.Request) string {
	if l, ok := supported(r.URL.Query().Get("lang")); ok {
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: l, Path: "/", MaxAge: 365 * 24 * 3600,
			HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
		return l
	}
	if c, err := r.Cookie(langCookie); err == nil {
		if l, ok := supported(c.Value); ok {
			return l
		}
	}
	return acceptLanguage(r.Header.Get("Accept-Language"))
}

// acceptLanguage returns the supported language with the highest quality
// in an Accept-Language header (RFC 9110 12.5.4), English when none is.
// Ties keep the header's order.
func acceptLanguage(header string) string {
	type pref struct {
		lang string
		q    float64
		i    int
	}
	var prefs []pref
	for i, part := range strings.Split(header, ",") {
		if i >= 32 { // a header this long is not a person's preference
			break
		}
		tag, params, _ := strings.Cut(part, ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || f < 0 || f > 1 {
				continue
			}
			q = f
		}
		if l, ok := supported(tag); ok && q > 0 {
			prefs = append(prefs, pref{l, q, i})
		}
	}
	sort.SliceStable(prefs, func(a, b int) bool { return prefs[a].q > prefs[b].q })
	if len(prefs) == 0 {
		return "en"
	}
	return prefs[0].lang
}
