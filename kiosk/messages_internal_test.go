package kiosk

import (
	"testing"
	"time"
)

// Ensure every language has every text the English pages use.
func TestEveryLanguageHasEveryText(t *testing.T) {
	for _, lang := range Languages {
		if languageNames[lang] == "" {
			t.Errorf("%s has no name", lang)
		}
		for key := range texts[DefaultLanguage] {
			if texts[lang][key] == "" {
				t.Errorf("%s lacks %q", lang, key)
			}
		}
	}
}

func TestWaitText(t *testing.T) {
	for _, c := range []struct {
		lang string
		d    time.Duration
		want string
	}{
		{"en", 0, "1 second"}, {"de", time.Second, "1 Sekunde"}, {"en", 1500 * time.Millisecond, "2 seconds"}, {"en", 59 * time.Second, "59 seconds"},
		{"en", time.Minute, "1 minute"}, {"en", 61 * time.Second, "2 minutes"}, {"de", time.Hour, "60 Minuten"},
		{"pl", 30 * time.Second, "30 s"}, {"it", 90 * time.Second, "2 minuti"},
	} {
		if got := waitText(c.lang, c.d); got != c.want {
			t.Errorf("waitText(%s, %v) = %q, want %q", c.lang, c.d, got, c.want)
		}
	}
}
