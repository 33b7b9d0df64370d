package web

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// Ensure every language has every key, with the same format verbs, so
// no page falls back to English or prints %!d(MISSING).
func TestCatalogComplete(t *testing.T) {
	c, err := loadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	verbs := regexp.MustCompile(`%[a-z]|\{[0-9]\}`)
	for key, en := range c["en"] {
		for _, lang := range Languages[1:] {
			s, ok := c[lang][key]
			if !ok || s == "" {
				t.Errorf("%s: missing %q", lang, key)
				continue
			}
			if a, b := verbs.FindAllString(en, -1), verbs.FindAllString(s, -1); strings.Join(a, " ") != strings.Join(b, " ") {
				t.Errorf("%s %q: verbs %v, English has %v", lang, key, b, a)
			}
		}
	}
	for _, lang := range Languages[1:] {
		for key := range c[lang] {
			if _, ok := c["en"][key]; !ok {
				t.Errorf("%s has %q, English does not", lang, key)
			}
		}
	}
}

// Ensure Accept-Language picks the best supported language by quality.
func TestAcceptLanguage(t *testing.T) {
	for header, want := range map[string]string{
		"":                                "en",
		"de-DE,de;q=0.9,en;q=0.8":         "de",
		"fr-FR, it;q=0.5, pl;q=0.7":       "pl",
		"PL":                              "pl",
		"it-CH;q=0.2, fr":                 "it",
		"de;q=0, en;q=0.1":                "en",
		"es, fr":                          "en",
		"de;q=abc, it":                    "it",
		"en;q=0.5, de;q=0.5":              "en",
		strings.Repeat("xx,", 100) + "de": "en",
	} {
		if got := acceptLanguage(header); got != want {
			t.Errorf("acceptLanguage(%q) = %s, want %s", header, got, want)
		}
	}
}

// Ensure pages follow Accept-Language, the switcher overrides it and is
// remembered, and each language's text is on the page.
func TestPageLanguage(t *testing.T) {
	x := newHarness(t)
	for _, tc := range []struct{ lang, text string }{
		{"en", "Skip to content"}, {"de", "Zum Inhalt springen"}, {"it", "Vai al contenuto"}, {"pl", "Przejdź do treści"},
	} {
		b := x.browser()
		b.lang = tc.lang
		res := b.get("/")
		if !strings.Contains(res.body, `<html lang="`+tc.lang+`">`) || !strings.Contains(res.body, tc.text) {
			t.Errorf("%s: page not in its language", tc.lang)
		}
	}
	b := x.browser()
	b.lang = "de"
	if res := b.get("/?lang=pl"); !strings.Contains(res.body, `<html lang="pl">`) || !strings.Contains(res.body, `hreflang="pl" aria-current="true"`) {
		t.Fatalf("switcher ignored")
	}
	if res := b.get("/"); !strings.Contains(res.body, `<html lang="pl">`) {
		t.Errorf("switcher choice not remembered")
	}
	if res := b.get("/?lang=xx"); res.status != http.StatusOK || !strings.Contains(res.body, `<html lang="pl">`) {
		t.Errorf("unknown language changed the choice")
	}
}
