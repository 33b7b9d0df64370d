package postgres

import "testing"

// The pool's size comes from an Option, else from the URL's pool_*
// parameters, else from the defaults; the URL's never reach the server as
// runtime parameters.
func TestPoolConfig(t *testing.T) {
	const base = "postgres://pg@127.0.0.1:5432/db"
	for _, c := range []struct {
		name     string
		url      string
		opts     []Option
		max, min int32
	}{
		{"defaults", base, nil, defaultMaxConns(), 0},
		{"url sets the pool", base + "?pool_max_conns=32&pool_min_conns=3", nil, 32, 3},
		{"options win over the url", base + "?pool_max_conns=32&pool_min_conns=3", []Option{WithMaxConns(4), WithMinConns(1)}, 4, 1},
		{"min never above max", base + "?pool_max_conns=2&pool_min_conns=2", []Option{WithMinConns(5)}, 2, 2},
		{"url min with the default max", base + "?pool_min_conns=500", nil, defaultMaxConns(), defaultMaxConns()},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := defaultConfig()
			for _, o := range c.opts {
				o(&cfg)
			}
			p, err := poolConfig(c.url, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if p.MaxConns != c.max || p.MinConns != c.min {
				t.Errorf("max %d min %d, want max %d min %d", p.MaxConns, p.MinConns, c.max, c.min)
			}
			for k := range p.ConnConfig.RuntimeParams {
				if k == "pool_max_conns" || k == "pool_min_conns" {
					t.Errorf("runtime parameter %s would be sent to the server", k)
				}
			}
		})
	}
}
