package http_test

import (
	"fmt"
	"sync"
	"testing"

	"golang.org/x/time/rate"

	pghttp "github.com/parcelguard/parcelguard/http"
)

// Ensure listing parcels page by page while other callers insert returns
// every parcel that existed before the listing began, and none twice.
func TestPaginationStableUnderInserts(t *testing.T) {
	e := newEnv(t, func(c *pghttp.Config) {
		c.KeyLimit = pghttp.RateLimit{Rate: rate.Inf}
		c.AddressLimit = pghttp.RateLimit{Rate: rate.Inf}
	})
	w := newWorld(e)
	before := map[string]bool{}
	for i := range 60 {
		before[w.announce(e, fmt.Sprintf("PG-PAGE-%03d", i)).ID] = true
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				r := e.do("POST", "/v1/parcels", w.carrierKey, map[string]any{"tracking_number": fmt.Sprintf("PG-NEW-%d-%d", g, i),
					"recipient": map[string]any{"name": "A", "phone": "+48600100200"}, "size": "S", "site_id": w.site.ID})
				if r.status != 201 {
					t.Errorf("insert: %d %s", r.status, r.body)
					return
				}
			}
		}()
	}
	seen := map[string]bool{}
	cursor := ""
	for pages := 0; ; pages++ {
		var page pghttp.List[pghttp.Parcel]
		e.must(200, "GET", "/v1/parcels?limit=7&cursor="+cursor, w.carrierKey, nil).decode(t, &page)
		for _, x := range page.Items {
			if seen[x.ID] {
				t.Fatalf("parcel %s listed twice", x.ID)
			}
			seen[x.ID] = true
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
		if pages > 1000 {
			t.Fatal("listing does not end")
		}
	}
	close(stop)
	wg.Wait()
	for id := range before {
		if !seen[id] {
			t.Errorf("pre-existing parcel %s skipped", id)
		}
	}
}
