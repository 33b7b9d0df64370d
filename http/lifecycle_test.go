package http_test

import (
	"context"
	"strings"
	"testing"
	"time"

	pghttp "github.com/parcelguard/parcelguard/http"
)

func TestLockerLifecycle(t *testing.T) {
	// Ensure a parcel goes announce → reserve → deposit → pickup through the
	// API, and that no answer or log line ever carries its code.
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t)
		w := newWorld(e)

		x := w.announce(e, "PG-0001")
		if x.State != "announced" || x.Mode != "locker" || x.CarrierID != w.carrier.ID {
			t.Fatalf("announced parcel: %+v", x)
		}
		if x.Recipient.Phone != "+48•••••••••" {
			t.Fatalf("phone not masked: %q", x.Recipient.Phone)
		}

		e.must(200, "POST", "/v1/parcels/"+x.ID+"/reserve", w.courier, nil).decode(t, &x)
		if x.State != "reserved" || x.CompartmentID != w.compartments[0].ID {
			t.Fatalf("reserved parcel: %+v", x)
		}

		dep := e.must(200, "POST", "/v1/parcels/"+x.ID+"/deposit", w.courier, nil)
		dep.decode(t, &x)
		if x.State != "deposited" || x.Deadline.IsZero() {
			t.Fatalf("deposited parcel: %+v", x)
		}
		if want := e.clock.Now().Add(72 * time.Hour); !x.Deadline.Equal(want) || x.Deadline.Location() != time.UTC {
			t.Fatalf("deadline %v, want %v in UTC", x.Deadline, want)
		}
		pin, _, err := e.svc.PickupCode(context.Background(), x.ID)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(dep.body), pin) {
			t.Fatalf("deposit answer carries the PIN %s: %s", pin, dep.body)
		}
		for _, field := range []string{"pin", "code", "password", "token"} {
			if strings.Contains(string(dep.body), `"`+field) {
				t.Fatalf("deposit answer has a %q field: %s", field, dep.body)
			}
		}

		// Wrong phone digits with the right PIN: the same 403 as a wrong PIN.
		r := e.do("POST", "/v1/sites/"+w.site.ID+"/pickup", w.kiosk, map[string]string{"pin": pin, "phone_digits": "9999"})
		mustProblem(t, r, 403, "rejected")
		if strings.Contains(string(r.body), pin) {
			t.Fatalf("rejection echoes the PIN: %s", r.body)
		}

		var res pghttp.PickupResult
		e.must(200, "POST", "/v1/sites/"+w.site.ID+"/pickup", w.kiosk,
			map[string]string{"pin": pin, "phone_digits": "0200"}).decode(t, &res)
		if res.ParcelID != x.ID || res.CompartmentLabel != "A1" || res.CompartmentID != w.compartments[0].ID {
			t.Fatalf("pickup result: %+v", res)
		}

		e.must(200, "GET", "/v1/parcels/"+x.ID, w.carrierKey, nil).decode(t, &x)
		if x.State != "picked_up" {
			t.Fatalf("state %q, want picked_up", x.State)
		}

		var events pghttp.List[pghttp.Event]
		e.must(200, "GET", "/v1/parcels/"+x.ID+"/events", w.carrierKey, nil).decode(t, &events)
		var kinds []string
		for _, ev := range events.Items {
			if len(ev.Hash) != 64 || ev.Seq < 1 || ev.At.IsZero() {
				t.Fatalf("event %+v", ev)
			}
			kinds = append(kinds, ev.Kind)
		}
		if got := strings.Join(kinds, ","); !strings.Contains(got, "parcel.announced") || !strings.Contains(got, "parcel.picked_up") {
			t.Fatalf("event kinds %s", got)
		}

		// Secrets never reach the log: not the PIN, not a token, not the
		// Authorization header; the key prefix may.
		logs := e.logs.String()
		for _, secret := range []string{pin, w.kiosk, w.courier, e.admin, "Bearer", "phone_digits"} {
			if strings.Contains(logs, secret) {
				t.Fatalf("log contains %q:\n%s", secret, logs)
			}
		}
		if !strings.Contains(logs, `"key_prefix":"`+w.kiosk[:16]+`"`) || !strings.Contains(logs, `"route":"POST /v1/sites/{id}/pickup"`) {
			t.Fatalf("access log lacks key prefix or route:\n%s", logs)
		}
	})

	// Ensure an uncollected parcel expires after its storage period, can no
	// longer be picked up, shows in the site's return queue and is collected.
	t.Run("Expired", func(t *testing.T) {
		e := newEnv(t)
		w := newWorld(e)
		x, pin := w.deposit(e, "PG-0002")

		e.clock.Advance(73 * time.Hour)
		if _, err := e.svc.FireDueTimers(context.Background()); err != nil {
			t.Fatal(err)
		}

		r := e.do("POST", "/v1/sites/"+w.site.ID+"/pickup", w.kiosk, map[string]string{"pin": pin, "phone_digits": "0200"})
		if r.status == 200 {
			t.Fatalf("pickup after expiry succeeded: %s", r.body)
		}
		mustProblem(t, r, 403, "rejected")

		var queue pghttp.List[pghttp.Parcel]
		e.must(200, "GET", "/v1/sites/"+w.site.ID+"/returns", w.courier, nil).decode(t, &queue)
		if len(queue.Items) != 1 || queue.Items[0].ID != x.ID || queue.Items[0].State != "expired" {
			t.Fatalf("return queue: %+v", queue)
		}

		e.must(200, "POST", "/v1/parcels/"+x.ID+"/collect", w.courier, nil).decode(t, &x)
		if x.State != "collected" {
			t.Fatalf("state %q, want collected", x.State)
		}
		e.must(200, "POST", "/v1/parcels/"+x.ID+"/returned", w.courier, nil).decode(t, &x)
		if x.State != "returned" {
			t.Fatalf("state %q, want returned", x.State)
		}
		e.must(200, "GET", "/v1/sites/"+w.site.ID+"/returns", w.courier, nil).decode(t, &queue)
		if len(queue.Items) != 0 {
			t.Fatalf("return queue not empty after collection: %+v", queue)
		}
		// The compartment is free again.
		var cs pghttp.List[pghttp.Compartment]
		e.must(200, "GET", "/v1/sites/"+w.site.ID+"/compartments", w.operator, nil).decode(t, &cs)
		if cs.Items[0].State != "free" {
			t.Fatalf("compartment %+v, want free", cs.Items[0])
		}
	})

	// Ensure a parcel not yet deposited can be cancelled and frees its
	// compartment, and a deposited one cannot (409).
	t.Run("Cancel", func(t *testing.T) {
		e := newEnv(t)
		w := newWorld(e)
		x := w.announce(e, "PG-0003")
		e.must(200, "POST", "/v1/parcels/"+x.ID+"/reserve", w.courier, nil)
		e.must(200, "POST", "/v1/parcels/"+x.ID+"/cancel", w.carrierKey, nil).decode(t, &x)
		if x.State != "cancelled" {
			t.Fatalf("state %q", x.State)
		}
		y, _ := w.deposit(e, "PG-0004")
		mustProblem(t, e.do("POST", "/v1/parcels/"+y.ID+"/cancel", w.carrierKey, nil), 409, "conflict")
	})
}

func TestListParcels(t *testing.T) {
	// Ensure listing pages with a cursor, filters by state, and shows a
	// carrier only its own parcels.
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t)
		w := newWorld(e)
		var ids []string
		for _, tn := range []string{"PG-1001", "PG-1002", "PG-1003"} {
			ids = append(ids, w.announce(e, tn).ID)
			e.clock.Advance(time.Millisecond) // ids sort by creation time
		}

		var page pghttp.List[pghttp.Parcel]
		e.must(200, "GET", "/v1/parcels?limit=2", w.carrierKey, nil).decode(t, &page)
		if len(page.Items) != 2 || page.Items[0].ID != ids[0] || page.NextCursor != ids[1] {
			t.Fatalf("first page: %+v", page)
		}
		cursor := page.NextCursor
		page = pghttp.List[pghttp.Parcel]{} // decoding leaves absent fields alone
		e.must(200, "GET", "/v1/parcels?limit=2&cursor="+cursor, w.carrierKey, nil).decode(t, &page)
		if len(page.Items) != 1 || page.Items[0].ID != ids[2] || page.NextCursor != "" {
			t.Fatalf("second page: %+v", page)
		}

		e.must(200, "GET", "/v1/parcels?state=deposited", w.carrierKey, nil).decode(t, &page)
		if len(page.Items) != 0 {
			t.Fatalf("state filter: %+v", page)
		}
		e.must(200, "GET", "/v1/parcels?tracking_number=PG-1002", w.carrierKey, nil).decode(t, &page)
		if len(page.Items) != 1 || page.Items[0].ID != ids[1] {
			t.Fatalf("tracking filter: %+v", page)
		}
		e.must(200, "GET", "/v1/parcels", w.other, nil).decode(t, &page)
		if len(page.Items) != 0 {
			t.Fatalf("another carrier sees %d parcels", len(page.Items))
		}
	})

	// Ensure bad filters are field problems, not silently ignored.
	t.Run("ErrInvalid", func(t *testing.T) {
		e := newEnv(t)
		w := newWorld(e)
		p := mustProblem(t, e.do("GET", "/v1/parcels?state=lost", w.carrierKey, nil), 422, "invalid")
		if len(p.Errors) != 1 || p.Errors[0].Location != "query.state" {
			t.Fatalf("errors %+v", p.Errors)
		}
		mustProblem(t, e.do("GET", "/v1/parcels?limit=501", w.carrierKey, nil), 422, "invalid")
		mustProblem(t, e.do("GET", "/v1/parcels?status=expired", w.carrierKey, nil), 422, "invalid")
	})
}
