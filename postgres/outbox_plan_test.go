package postgres

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/parcelguard/parcelguard/internal/pgtest"
)

// Ensure recording outcomes finds the rows by primary key even when the
// statistics were taken before a burst and say few rows are pending: the
// plan must not read the index of pending rows, whose size is the backlog.
// Counting the backlog, on the other hand, must read that index alone.
func TestOutboxPlans(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	db, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(ctx) })

	for _, c := range []struct {
		table, set, pendingIndex string
		setArgs                  []any
		insert                   string // $1 state, rows $2 to $3
	}{
		{"outbox", "last_error = $2, ", "outbox_due", []any{int64(1), ""},
			`INSERT INTO outbox (id, idempotency_key, kind, channel, state, due_at, created_at)
			SELECT 'msg-' || lpad(i::text, 7, '0'), 'key-' || i, 'deposit', 'sms', $1, i, i FROM generate_series($2::int, $3::int) i`},
		{"device_commands", "", "device_commands_due", []any{int64(1)},
			`INSERT INTO device_commands (id, idempotency_key, site_id, kind, state, due_at, created_at)
			SELECT 'cmd-' || lpad(i::text, 7, '0'), 'key-' || i, 'sit-1', 'grant.put', $1, i, i FROM generate_series($2::int, $3::int) i`},
	} {
		t.Run(c.table, func(t *testing.T) {
			// Statistics of a quiet table (many sent, few pending), then a
			// burst of pending rows they do not know of.
			for _, step := range []struct {
				state    string
				from, to int
			}{{"sent", 1, 20000}, {"pending", 20001, 20020}, {"analyze", 0, 0}, {"pending", 20021, 40000}} {
				q, args := c.insert, []any{step.state, step.from, step.to}
				if step.state == "analyze" {
					q, args = "ANALYZE "+c.table, nil
				}
				if _, err := conn.Exec(ctx, q, args...); err != nil {
					t.Fatalf("%s: %v", step.state, err)
				}
			}
			prefix := map[string]string{"outbox": "msg-", "device_commands": "cmd-"}[c.table]
			var ids []string
			for i := 39900; i < 40000; i++ {
				ids = append(ids, fmt.Sprintf("%s%07d", prefix, i))
			}
			lines, err := explain(ctx, conn, markSentSQL(c.table, c.set, len(c.setArgs)+1), append(c.setArgs, ids)...)
			if err != nil {
				t.Fatal(err)
			}
			plan := strings.Join(lines, "\n")
			if strings.Contains(plan, c.pendingIndex) || !strings.Contains(plan, c.table+"_pkey") {
				t.Errorf("marking 100 of 20000 pending rows sent reads %s instead of only %s_pkey:\n%s", c.pendingIndex, c.table, plan)
			}
			if c.table != "outbox" {
				return
			}
			// The backlog, by contrast, is read from the pending index
			// alone, never from the 20000 sent rows.
			if lines, err = explain(ctx, conn, messageBacklogSQL, int64(1<<62)); err != nil {
				t.Fatal(err)
			}
			if plan := strings.Join(lines, "\n"); !strings.Contains(plan, c.pendingIndex) || strings.Contains(plan, "Seq Scan") {
				t.Errorf("the backlog does not read %s alone:\n%s", c.pendingIndex, plan)
			}
		})
	}
}

// explain returns the lines of the plan of q with args.
func explain(ctx context.Context, conn *pgx.Conn, q string, args ...any) ([]string, error) {
	rows, err := conn.Query(ctx, "EXPLAIN "+q, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
