package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parcelguard/parcelguard/sim"
)

// Ensure `parcelguard sim` runs a scaled preset on a temporary SQLite
// database, writes the summary and the report, prints the summary as JSON,
// and exits 0 when no invariant broke.
func TestSimCommand(t *testing.T) {
	dir := t.TempDir()
	out, err := runCLI(t, "sim", "--preset", "small", "--scale", "0.25", "--attackers", "0", "--seed", "7",
		"--out", dir, "--quiet", "--json")
	if err != nil {
		t.Fatalf("sim: %v (exit %d)", err, exitCode(err))
	}
	var s sim.Summary
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("stdout is not the JSON summary: %v\n%s", err, out)
	}
	if s.Config.Preset != "small" || s.Config.Seed != 7 || s.Network.Sites != 1 || s.Engine != "sqlite" || s.Invariants.Violations != 0 {
		t.Errorf("unexpected summary: preset %s seed %d sites %d engine %s violations %d",
			s.Config.Preset, s.Config.Seed, s.Network.Sites, s.Engine, s.Invariants.Violations)
	}
	for _, name := range []string{"summary.json", "report.html"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || len(b) == 0 {
			t.Errorf("%s not written: %v", name, err)
		}
	}
}

// Ensure bad flags are usage errors (exit 2) that say what is wrong.
func TestSimCommandUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--preset", "galaxy"}, "unknown preset"},
		{[]string{"--scale", "0"}, "--scale"},
		{[]string{"--scale", "1.5"}, "--scale"},
		{[]string{"--attackers", "99"}, "attackers"},
		{[]string{"--delegates", "2"}, "--delegates"},
		{[]string{"stray"}, "unexpected argument"},
	} {
		var stdout, stderr strings.Builder
		err := run(t.Context(), append([]string{"sim"}, tc.args...), noEnv, &stdout, &stderr)
		if exitCode(err) != 2 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("sim %v: exit %d, stderr %q; want exit 2 naming %q", tc.args, exitCode(err), stderr.String(), tc.want)
		}
	}
}
