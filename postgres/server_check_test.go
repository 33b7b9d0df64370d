package postgres

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/parcelguard/parcelguard/internal/pgtest"
)

// Ensure each setting that weakens durability or lets queue tables bloat
// is named, and a well-set server gets no warning.
func TestSettingWarnings(t *testing.T) {
	good := map[string]string{"fsync": "on", "synchronous_commit": "on", "autovacuum": "on"}
	for _, c := range []struct {
		name, value string
		want        string // the warning's first word, "" for none
	}{
		{"", "", ""},
		{"synchronous_commit", "local", ""},
		{"synchronous_commit", "remote_write", ""},
		{"fsync", "off", "fsync"},
		{"synchronous_commit", "off", "synchronous_commit"},
		{"autovacuum", "off", "autovacuum"},
	} {
		s := maps.Clone(good)
		if c.name != "" {
			s[c.name] = c.value
		}
		got := settingWarnings(s)
		switch {
		case c.want == "" && len(got) != 0:
			t.Errorf("%s=%s: warnings %q, want none", c.name, c.value, got)
		case c.want != "" && (len(got) != 1 || !strings.HasPrefix(got[0], c.want+" is off:")):
			t.Errorf("%s=%s: warnings %q, want one about %s", c.name, c.value, got, c.want)
		}
	}
	all := settingWarnings(map[string]string{"fsync": "off", "synchronous_commit": "off", "autovacuum": "off"})
	if len(all) != 3 {
		t.Errorf("all off: %d warnings, want 3", len(all))
	}
}

// Ensure the check reads the settings as they apply to the service's
// database: synchronous_commit turned off for that database alone is
// reported.
func TestServerWarnings(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	pgtest.SetForDatabase(t, url, "synchronous_commit", "off")

	db, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	got, err := db.ServerWarnings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(got, func(w string) bool { return strings.HasPrefix(w, "synchronous_commit is off:") }) {
		t.Fatalf("warnings %q lack synchronous_commit", got)
	}
}
