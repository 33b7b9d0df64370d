package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// maxCachedStmts bounds the cache. Queries built from filters vary, but
// only over a few dozen shapes; past the bound, statements are prepared
// per use rather than growing the cache without limit.
const maxCachedStmts = 512

// stmtCache runs statements on the writer's one connection, preparing each
// distinct query once. The writer is single-threaded and CPU-bound once
// commits are shared, and preparing (parsing and planning) was about a
// third of its work; a cached statement only binds and steps.
type stmtCache struct {
	conn *sql.Conn

	// mu is uncontended in service (only the writer goroutine runs
	// statements); it keeps tests that drive a batch directly race-free.
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

func newStmtCache(conn *sql.Conn) *stmtCache {
	return &stmtCache{conn: conn, stmts: map[string]*sql.Stmt{}}
}

// stmt returns the prepared statement for query, or nil if the cache is
// full and query is not in it.
func (c *stmtCache) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.stmts[query]; ok {
		return s, nil
	}
	if len(c.stmts) >= maxCachedStmts {
		return nil, nil
	}
	s, err := c.conn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.stmts[query] = s
	return s, nil
}

// ExecContext runs query as a cached prepared statement.
func (c *stmtCache) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	s, err := c.stmt(ctx, query)
	if err != nil || s == nil {
		return c.conn.ExecContext(ctx, query, args...)
	}
	return s.ExecContext(ctx, args...)
}

// QueryContext runs query as a cached prepared statement.
func (c *stmtCache) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	s, err := c.stmt(ctx, query)
	if err != nil || s == nil {
		return c.conn.QueryContext(ctx, query, args...)
	}
	return s.QueryContext(ctx, args...)
}

// QueryRowContext runs query as a cached prepared statement. If preparing
// fails, running the query unprepared reports the same error through the
// returned row.
func (c *stmtCache) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	s, err := c.stmt(ctx, query)
	if err != nil || s == nil {
		return c.conn.QueryRowContext(ctx, query, args...)
	}
	return s.QueryRowContext(ctx, args...)
}

// Close closes every cached statement.
func (c *stmtCache) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for q, s := range c.stmts {
		errs = append(errs, s.Close())
		delete(c.stmts, q)
	}
	return errors.Join(errs...)
}
