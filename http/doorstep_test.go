package http_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/client"
	"github.com/parcelguard/parcelguard/code"
	pghttp "github.com/parcelguard/parcelguard/http"
	"github.com/parcelguard/parcelguard/notify"
	"github.com/parcelguard/parcelguard/service"
	"github.com/parcelguard/parcelguard/sqlite"
)

// doorstepEnv is the API on a real SQLite store with the notification
// dispatcher delivering into the local mailbox, as `parcelguard demo` runs.
type doorstepEnv struct {
	t        *testing.T
	ctx      context.Context
	clock    *parcelguard.ManualClock
	svc      *service.Service
	dispatch *notify.Dispatcher
	srv      *httptest.Server
	operator *client.Client
	carrier  *client.Client
	courier  *client.Client
	kiosk    *client.Client
	other    *client.Client
	opToken  string
}

// door is the delivery address of the doorstep parcels, near the locker.
const doorLat, doorLon = 48.141, 11.561

func newDoorstepEnv(t *testing.T) *doorstepEnv {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "pg.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	keys, err := code.GenerateKeyring()
	if err != nil {
		t.Fatal(err)
	}
	clock := parcelguard.NewManualClock(time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)) // Monday
	svc := service.New(service.Config{Store: store, Clock: clock, Keys: keys})
	d, err := notify.New(notify.Config{}, notify.Options{Store: store, Clock: clock, Keys: keys, Codes: svc})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(pghttp.NewServer(pghttp.Config{Service: svc, Store: store, Clock: clock, Mailbox: d.Mailbox()}))
	t.Cleanup(srv.Close)
	e := &doorstepEnv{t: t, ctx: ctx, clock: clock, svc: svc, dispatch: d, srv: srv}
	adminToken, _, err := svc.CreateAPIKey(ctx, parcelguard.System, service.NewAPIKeyInput{Role: parcelguard.RoleAdmin, Name: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	admin := e.client(adminToken)
	key := func(in client.NewAPIKey) *client.Client {
		k, err := admin.CreateAPIKey(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if in.Role == "operator" {
			e.opToken = k.Token
		}
		return e.client(k.Token)
	}
	e.operator = key(client.NewAPIKey{Role: "operator", Name: "ops"})
	site, err := e.operator.CreateSite(ctx, client.NewSite{Name: "Main Station", Address: "Bahnhofplatz 1, München", Lat: 48.14, Lon: 11.56, TimeZone: "Europe/Berlin"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.operator.AddCompartment(ctx, site.ID, client.NewCompartment{Label: "A1", Size: "M"}); err != nil {
		t.Fatal(err)
	}
	carrier, err := e.operator.CreateCarrier(ctx, client.NewCarrier{Name: "Fast Parcel"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := e.operator.CreateCarrier(ctx, client.NewCarrier{Name: "Other Express"})
	if err != nil {
		t.Fatal(err)
	}
	e.carrier = key(client.NewAPIKey{Role: "carrier", CarrierID: carrier.ID, Name: "shop"})
	e.courier = key(client.NewAPIKey{Role: "courier", CarrierID: carrier.ID, Name: "van 7"})
	e.kiosk = key(client.NewAPIKey{Role: "kiosk", SiteID: site.ID, Name: "kiosk"})
	e.other = key(client.NewAPIKey{Role: "courier", CarrierID: other.ID, Name: "stranger"})
	return e
}

func (e *doorstepEnv) client(token string) *client.Client {
	e.t.Helper()
	c, err := client.New(e.srv.URL, client.WithToken(token))
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// recipient is a client holding the recipient link of a parcel.
func (e *doorstepEnv) recipient(parcelID string) *client.Client {
	e.t.Helper()
	tok, err := e.svc.RecipientLink(e.ctx, parcelID)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.client(tok)
}

// announce announces a doorstep parcel the carrier flags for a password.
func (e *doorstepEnv) announce(tracking string) *client.Doorstep {
	e.t.Helper()
	x, err := e.carrier.AnnounceDoorstep(e.ctx, client.NewDoorstepParcel{TrackingNumber: tracking, Size: "S",
		DeclaredValue: 149900, Currency: "EUR",
		Recipient: client.Recipient{Name: "Ada Lovelace", Phone: "+4915112345678", Email: "ada@example.com", Language: "en"},
		Address:   "Arnulfstr. 1, 80335 München", Lat: doorLat, Lon: doorLon, TimeZone: "Europe/Berlin", Country: "DE",
		PasswordFlag: true})
	if err != nil {
		e.t.Fatal(err)
	}
	return x
}

var sixDigits = regexp.MustCompile(`\b[0-9]{6}\b`)

// mailboxPasswords dispatches the outbox and returns the passwords in the
// SMS messages of kind the mailbox holds for the parcel, oldest first,
// read through GET /v1/mailbox as an operator would.
func (e *doorstepEnv) mailbox(parcelID string, kind parcelguard.MessageKind) []string {
	e.t.Helper()
	if _, err := e.dispatch.DispatchDue(e.ctx); err != nil {
		e.t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/v1/mailbox?parcel_id="+parcelID+"&limit=200", nil)
	req.Header.Set("Authorization", "Bearer "+e.opToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var page struct {
		Items []notify.MailboxMessage `json:"items"`
	}
	if err := json.NewDecoder(res.Body).Decode(&page); err != nil || res.StatusCode != 200 {
		e.t.Fatalf("mailbox: %d %v", res.StatusCode, err)
	}
	var out []string
	for _, m := range page.Items {
		if m.Kind != kind || m.Channel != parcelguard.ChannelSMS {
			continue
		}
		if first, _, _ := strings.Cut(m.Text, "\n"); sixDigits.MatchString(first) {
			e.t.Fatalf("code on the first line of an SMS: %q", m.Text)
		}
		out = append(out, sixDigits.FindString(m.Text))
	}
	return out
}

func wantCode(t *testing.T, err error, status int, code string) {
	t.Helper()
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != status || ce.Code != code {
		t.Fatalf("err = %v, want %d %s", err, status, code)
	}
}

func TestDoorstepFlow(t *testing.T) {
	// Ensure announce → out for delivery → password in the mailbox and on
	// the tracking page → courier verifies at the door → delivered, with a
	// proof naming the recipient; no courier answer carries the password.
	t.Run("OK", func(t *testing.T) {
		e := newDoorstepEnv(t)
		x := e.announce("DS-0001")
		if !x.PasswordRequired || x.PasswordReason != "carrier_flag" || x.Parcel.State != "announced" || x.Parcel.Mode != "doorstep" {
			t.Fatalf("announced %+v", x)
		}
		out, err := e.courier.OutForDelivery(e.ctx, x.Parcel.ID, 4)
		if err != nil {
			t.Fatal(err)
		}
		if out.Parcel.State != "out_for_delivery" || out.DeliveryDate != "2026-11-23" || out.RouteSeq != 4 {
			t.Fatalf("out for delivery %+v", out)
		}
		codes := e.mailbox(x.Parcel.ID, parcelguard.MessageDoorstepPassword)
		if len(codes) != 1 || codes[0] == "" {
			t.Fatalf("mailbox passwords %v", codes)
		}
		tr, err := e.recipient(x.Parcel.ID).TrackDoorstep(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if tr.Password != codes[0] || !tr.PasswordExpiresAt.Equal(time.Date(2026, 11, 23, 23, 0, 0, 0, time.UTC)) {
			t.Fatalf("tracking %+v, mailbox %s", tr, codes[0])
		}
		manifest, err := e.courier.DoorstepManifest(e.ctx, "2026-11-23")
		if err != nil || len(manifest) != 1 || manifest[0].Parcel.ID != x.Parcel.ID {
			t.Fatalf("manifest %+v %v", manifest, err)
		}
		// Without a date: today where the delivery is.
		if today, err := e.courier.DoorstepManifest(e.ctx, ""); err != nil || len(today) != 1 || today[0].Parcel.ID != x.Parcel.ID {
			t.Fatalf("today's manifest %+v %v", today, err)
		}
		if _, err := e.courier.DoorstepManifest(e.ctx, "23.11.2026"); err == nil {
			t.Fatal("a malformed date was taken")
		}
		for _, m := range manifest {
			if b, _ := json.Marshal(m); strings.Contains(string(b), codes[0]) {
				t.Fatal("the manifest carries the password")
			}
		}

		_, err = e.courier.VerifyDoorstep(e.ctx, x.Parcel.ID, other(codes[0]), doorLat, doorLon)
		wantCode(t, err, 403, "rejected")
		_, err = e.kiosk.VerifyDoorstep(e.ctx, x.Parcel.ID, codes[0], doorLat, doorLon)
		wantCode(t, err, 403, "forbidden")
		_, err = e.other.VerifyDoorstep(e.ctx, x.Parcel.ID, codes[0], doorLat, doorLon)
		wantCode(t, err, 404, "not_found")
		_, err = e.courier.VerifyDoorstep(e.ctx, x.Parcel.ID, codes[0], 48.2, 11.6)
		wantCode(t, err, 403, "forbidden")

		proof, err := e.courier.VerifyDoorstep(e.ctx, x.Parcel.ID, codes[0], doorLat, doorLon)
		if err != nil {
			t.Fatal(err)
		}
		if proof.VerifiedBy != "recipient" || !strings.HasPrefix(proof.Courier, "courier:") || proof.DistanceM > 1 {
			t.Fatalf("proof %+v", proof)
		}
		got, err := e.carrier.Doorstep(e.ctx, x.Parcel.ID)
		if err != nil || got.Parcel.State != "delivered" || got.Proof == nil || got.Proof.VerifiedBy != "recipient" {
			t.Fatalf("delivered %+v %v", got, err)
		}
		evs, err := e.carrier.ParcelEvents(e.ctx, x.Parcel.ID)
		if err != nil {
			t.Fatal(err)
		}
		kinds := map[string]int{}
		for _, ev := range evs {
			kinds[ev.Kind]++
			if b, _ := json.Marshal(ev); strings.Contains(string(b), `"`+codes[0]+`"`) {
				t.Fatalf("event %s carries the password", ev.Kind)
			}
		}
		if kinds["doorstep.verify_failed"] != 1 || kinds["doorstep.position_mismatch"] != 1 || kinds["doorstep.delivered"] != 1 {
			t.Fatalf("events %v", kinds)
		}
	})

	// Ensure a failed attempt reschedules to the next working day with a
	// new password sent that day, and a delegate named through the
	// recipient link receives the parcel with a proof naming them.
	t.Run("FailedAttempt", func(t *testing.T) {
		e := newDoorstepEnv(t)
		x := e.announce("DS-0002")
		if _, err := e.courier.OutForDelivery(e.ctx, x.Parcel.ID, 0); err != nil {
			t.Fatal(err)
		}
		first := e.mailbox(x.Parcel.ID, parcelguard.MessageDoorstepPassword)
		_, err := e.courier.FailAttempt(e.ctx, x.Parcel.ID, "no_reason", doorLat, doorLon)
		wantCode(t, err, 422, "invalid")
		// Only the end-of-day timer records not_delivered.
		_, err = e.courier.FailAttempt(e.ctx, x.Parcel.ID, "not_delivered", doorLat, doorLon)
		wantCode(t, err, 422, "invalid")
		// "Not at home", claimed 5 km away, is refused.
		_, err = e.courier.FailAttempt(e.ctx, x.Parcel.ID, "not_at_home", doorLat+0.045, doorLon)
		wantCode(t, err, 403, "forbidden")
		got, err := e.courier.FailAttempt(e.ctx, x.Parcel.ID, "not_at_home", doorLat, doorLon)
		if err != nil {
			t.Fatal(err)
		}
		if got.Parcel.State != "rescheduled" || got.DeliveryDate != "2026-11-24" || got.Attempts != 1 || got.LastReason != "not_at_home" {
			t.Fatalf("rescheduled %+v", got)
		}
		if _, err := e.dispatch.DispatchDue(e.ctx); err != nil {
			t.Fatal(err)
		}
		_, err = e.courier.VerifyDoorstep(e.ctx, x.Parcel.ID, first[0], doorLat, doorLon)
		wantCode(t, err, 409, "conflict")

		rec := e.recipient(x.Parcel.ID)
		dl, err := rec.CreateDoorstepDelegate(e.ctx, client.NewDoorstepDelegate{Name: "Charles Babbage"})
		if err != nil {
			t.Fatal(err)
		}
		if dl.Date != "2026-11-24" || len(dl.Password) != 6 {
			t.Fatalf("delegate %+v", dl)
		}
		e.clock.Set(time.Date(2026, 11, 23, 23, 0, 0, 0, time.UTC)) // midnight in Berlin
		if n, err := e.svc.FireDueTimers(e.ctx); err != nil || n != 1 {
			t.Fatalf("timers %d %v", n, err)
		}
		second := e.mailbox(x.Parcel.ID, parcelguard.MessageDoorstepPassword)
		if len(second) != 2 {
			t.Fatalf("passwords over two days: %v", second)
		}
		e.clock.Advance(10 * time.Hour)
		proof, err := e.courier.VerifyDoorstep(e.ctx, x.Parcel.ID, dl.Password, doorLat, doorLon)
		if err != nil {
			t.Fatal(err)
		}
		if proof.VerifiedBy != "delegate" || proof.DelegateName != "Charles Babbage" || proof.PasswordID != dl.ID {
			t.Fatalf("proof %+v", proof)
		}
		tr, err := rec.TrackDoorstep(e.ctx)
		if err != nil || tr.Proof == nil || tr.Proof.VerifiedBy != "delegate" {
			t.Fatalf("tracking %+v %v", tr, err)
		}
	})

	// Ensure an offline handover syncs, verifies and delivers, and a
	// mismatching one is listed for operators.
	t.Run("Offline", func(t *testing.T) {
		e := newDoorstepEnv(t)
		x, y := e.announce("DS-0003"), e.announce("DS-0004")
		for _, p := range []*client.Doorstep{x, y} {
			if _, err := e.courier.OutForDelivery(e.ctx, p.Parcel.ID, 0); err != nil {
				t.Fatal(err)
			}
		}
		code := e.mailbox(x.Parcel.ID, parcelguard.MessageDoorstepPassword)[0]
		at := e.clock.Now().Add(time.Hour)
		e.clock.Advance(3 * time.Hour)
		ok, err := e.courier.SubmitOffline(e.ctx, x.Parcel.ID, code, doorLat, doorLon, at)
		if err != nil || ok.State != "verified" {
			t.Fatalf("offline %+v %v", ok, err)
		}
		bad, err := e.courier.SubmitOffline(e.ctx, y.Parcel.ID, code, 48.3, 11.7, at)
		if err != nil || bad.State != "mismatch" {
			t.Fatalf("offline %+v %v", bad, err)
		}
		list, err := e.operator.OfflineEntries(e.ctx, "mismatch")
		if err != nil || len(list) != 1 || list[0].ID != bad.ID {
			t.Fatalf("mismatches %+v %v", list, err)
		}
		_, err = e.courier.OfflineEntries(e.ctx, "")
		wantCode(t, err, 403, "forbidden")
	})
}

// other returns a 6-digit code different from c.
func other(c string) string {
	if c == "000000" {
		return "000001"
	}
	return "000000"
}
