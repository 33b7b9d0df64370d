package audit_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/audit"
	"github.com/parcelguard/parcelguard/sqlite"
)

// seed writes n events to one site stream and a few to the system stream,
// and returns the database path.
func seed(t *testing.T, n int) string {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "audit.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	at := time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)
	err = db.Update(ctx, func(tx parcelguard.Tx) error {
		for i := range n {
			e := &parcelguard.Event{ID: fmt.Sprintf("evt_%03d", i), Stream: "site:s1", At: at.Add(time.Duration(i) * time.Second),
				Kind: parcelguard.EventPickupFailed, SiteID: "s1", Actor: "kiosk:s1", Data: map[string]string{"n": fmt.Sprint(i)}}
			if err := tx.AppendEvent(ctx, e); err != nil {
				return err
			}
		}
		for i := range 3 {
			if err := tx.AppendEvent(ctx, &parcelguard.Event{ID: fmt.Sprintf("evt_sys%d", i), Stream: parcelguard.SystemStream,
				At: at, Kind: parcelguard.EventCarrierCreated, Actor: "system"}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func verify(t *testing.T, path string) *audit.Report {
	t.Helper()
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r, err := audit.Verify(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Ensure an untouched log verifies, and every kind of tampering — editing,
// deleting, reordering or truncating events — is found at the right place.
func TestVerify(t *testing.T) {
	tests := []struct {
		name    string
		tamper  string // SQL run against the closed database
		wantSeq int64
		reason  string
	}{
		{"OK", "", 0, ""},
		{"ErrEditData", `UPDATE events SET data = '{"n":"99"}' WHERE stream = 'site:s1' AND seq = 4`, 4, "edited"},
		{"ErrEditActor", `UPDATE events SET actor = 'admin:x' WHERE stream = 'site:s1' AND seq = 7`, 7, "edited"},
		{"ErrEditTime", `UPDATE events SET at = at + 1 WHERE stream = 'site:s1' AND seq = 2`, 2, "edited"},
		{"ErrDelete", `DELETE FROM events WHERE stream = 'site:s1' AND seq = 5`, 5, "deleted"},
		{"ErrReorder", `UPDATE events SET seq = -3 WHERE stream = 'site:s1' AND seq = 3;
			UPDATE events SET seq = 3 WHERE stream = 'site:s1' AND seq = 4;
			UPDATE events SET seq = 4 WHERE stream = 'site:s1' AND seq = -3`, 3, "reordered"},
		{"ErrTruncate", `DELETE FROM events WHERE stream = 'site:s1' AND seq = 10`, 10, "removed from the end"},
		// Moving an event to another chain breaks both: the first reported
		// is the one it left.
		{"ErrMoveStream", `UPDATE events SET stream = 'system', seq = 4 WHERE stream = 'site:s1' AND seq = 10`, 10, "removed from the end"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := seed(t, 10)
			if tt.tamper != "" {
				raw, err := sql.Open("sqlite", path)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := raw.Exec(tt.tamper); err != nil {
					t.Fatalf("tamper: %v", err)
				}
				raw.Close()
			}
			r := verify(t, path)
			if r.Streams != 2 {
				t.Fatalf("%d streams, want 2", r.Streams)
			}
			if tt.wantSeq == 0 {
				if !r.OK() || r.Events != 13 {
					t.Fatalf("intact log reported %+v", r.Broken)
				}
				return
			}
			if r.OK() {
				t.Fatal("tampering not detected")
			}
			b := r.Broken[0]
			if b.Seq != tt.wantSeq || !strings.Contains(b.Reason, tt.reason) {
				t.Fatalf("broken at %s seq %d (%s), want seq %d mentioning %q", b.Stream, b.Seq, b.Reason, tt.wantSeq, tt.reason)
			}
		})
	}
}
