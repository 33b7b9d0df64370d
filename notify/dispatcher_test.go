package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/notify"
	"github.com/parcelguard/parcelguard/service"
)

// Ensure that with nothing configured every message lands in the mailbox,
// readable through Mailbox.List with the PIN, while neither the outbox
// rows nor the stored mailbox rows hold the PIN in clear.
func TestMailboxDefault(t *testing.T) {
	f := newFixture(t, 1)
	p := f.deposit("PG-1001", ada)
	pin, _, err := f.svc.PickupCode(f.ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	d := f.dispatcher(notify.Config{}, nil)
	if n := f.dispatch(d); n != 3 {
		t.Fatalf("dispatched %d, want 3", n)
	}
	box, err := d.Mailbox().List(f.ctx, parcelguard.MailboxFilter{ParcelID: p.ID})
	if err != nil {
		t.Fatal(err)
	}
	byChannel := map[parcelguard.Channel]*notify.MailboxMessage{}
	for _, m := range box {
		byChannel[m.Channel] = m
	}
	if len(box) != 3 || byChannel[parcelguard.ChannelEmail] == nil || byChannel[parcelguard.ChannelSMS] == nil || byChannel[parcelguard.ChannelWebhook] == nil {
		t.Fatalf("mailbox %+v, want an e-mail, an SMS and a webhook", box)
	}
	email, sms, hook := byChannel[parcelguard.ChannelEmail], byChannel[parcelguard.ChannelSMS], byChannel[parcelguard.ChannelWebhook]
	if email.To != "ada@example.com" || !strings.Contains(email.Text, pin) || !strings.Contains(email.HTML, pin) ||
		len(email.Inline) != 1 || email.Subject == "" || strings.Contains(email.Subject, pin) {
		t.Errorf("e-mail in mailbox: %+v", email)
	}
	if first, _, _ := strings.Cut(sms.Text, "\n"); sms.To != ada.Phone || !strings.Contains(sms.Text, pin) || strings.Contains(first, pin) {
		t.Errorf("SMS in mailbox: %q", sms.Text)
	}
	var ev notify.WebhookEvent
	if err := json.Unmarshal(hook.Body, &ev); err != nil || ev.Type != "parcel.deposited" || ev.Parcel.TrackingNumber != "PG-1001" ||
		ev.Parcel.State != "deposited" || hook.To != f.carrier.ID || bytes.Contains(hook.Body, []byte(pin)) {
		t.Errorf("webhook in mailbox: %s (%v)", hook.Body, err)
	}

	// Nothing at rest holds the PIN in clear.
	err = f.db.View(f.ctx, func(tx parcelguard.Tx) error {
		entries, err := tx.MailboxEntries(f.ctx, parcelguard.MailboxFilter{})
		for _, e := range entries {
			if bytes.Contains(e.Sealed, []byte(pin)) || bytes.Contains(e.Sealed, []byte("Abholcode")) {
				t.Errorf("mailbox entry %s is not sealed", e.ID)
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range f.messages(parcelguard.MessageFilter{}) {
		if b, _ := json.Marshal(m); bytes.Contains(b, []byte(pin)) {
			t.Errorf("outbox row holds the PIN: %s", b)
		}
	}

	// A second pass finds nothing; the mailbox holds each message once.
	if n := f.dispatch(d); n != 0 {
		t.Fatalf("second pass dispatched %d", n)
	}
}

// Ensure the service enqueues the right messages for the whole locker
// lifecycle, once each: deposit, reminder, expiry (and the collected and
// returned webhooks), and for another parcel the pickup confirmation.
func TestLifecycleMessages(t *testing.T) {
	f := newFixture(t, 2)
	p := f.deposit("PG-1001", ada)
	kinds := func(parcelID string) map[string]int {
		out := map[string]int{}
		for _, m := range f.messages(parcelguard.MessageFilter{ParcelID: parcelID}) {
			k := string(m.Kind) + "/" + string(m.Channel)
			if m.Kind == parcelguard.MessageWebhook {
				k = m.Data["type"]
			}
			out[k]++
		}
		return out
	}
	f.clock.Advance(48*time.Hour + time.Minute) // the reminder is due 24 h before the 72 h deadline
	if _, err := f.svc.FireDueTimers(f.ctx); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(24 * time.Hour)
	if _, err := f.svc.FireDueTimers(f.ctx); err != nil {
		t.Fatal(err)
	}
	operator := parcelguard.Principal{Role: parcelguard.RoleOperator, KeyPrefix: "pgk_op"}
	if _, err := f.svc.Collect(f.ctx, operator, p.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.MarkReturned(f.ctx, operator, p.ID); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"deposit/email": 1, "deposit/sms": 1, "reminder/email": 1, "reminder/sms": 1,
		"expiry/email": 1, "expiry/sms": 1, "parcel.deposited": 1, "parcel.expired": 1, "parcel.collected": 1, "parcel.returned": 1}
	if got := kinds(p.ID); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("messages %v, want %v", got, want)
	}

	q := f.deposit("PG-1002", parcelguard.Recipient{Name: "Bo", Phone: "+48600100200", Language: "pl"})
	pin, _, err := f.svc.PickupCode(f.ctx, q.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Pickup(f.ctx, f.kiosk, f.site.ID, pin, "0200"); err != nil {
		t.Fatal(err)
	}
	want = map[string]int{"deposit/sms": 1, "picked_up/sms": 1, "parcel.deposited": 1, "parcel.picked_up": 1}
	if got := kinds(q.ID); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("messages %v, want %v", got, want)
	}
	// The deposit notice of a parcel already picked up is skipped, not sent.
	d := f.dispatcher(notify.Config{}, nil)
	f.dispatch(d)
	for _, m := range f.messages(parcelguard.MessageFilter{ParcelID: q.ID, Kind: parcelguard.MessageDeposit}) {
		if m.State != parcelguard.MessageSent || !strings.HasPrefix(m.LastError, "skipped") {
			t.Errorf("deposit notice after pickup: %s %q", m.State, m.LastError)
		}
	}
	box, err := d.Mailbox().List(f.ctx, parcelguard.MailboxFilter{ParcelID: q.ID})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range box {
		if m.Kind == parcelguard.MessageDeposit {
			t.Errorf("skipped deposit notice reached the mailbox")
		}
		if m.Kind == parcelguard.MessagePickedUp && !strings.Contains(m.Text, "PG-1002") {
			t.Errorf("pickup confirmation %q", m.Text)
		}
	}
}

// smsGateway is an httptest server that answers with the queued statuses
// (200 when empty) and records requests; delay makes it slow.
type smsGateway struct {
	*httptest.Server
	mu       sync.Mutex
	statuses []int
	delay    time.Duration
	reqs     []*http.Request
	bodies   [][]byte
}

func newGateway(t *testing.T, statuses ...int) *smsGateway {
	g := &smsGateway{statuses: statuses}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		g.mu.Lock()
		g.reqs, g.bodies = append(g.reqs, r), append(g.bodies, body)
		status, delay := http.StatusOK, g.delay
		if len(g.statuses) > 0 {
			status, g.statuses = g.statuses[0], g.statuses[1:]
		}
		g.mu.Unlock()
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "600")
		}
		w.WriteHeader(status)
		io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(g.Close)
	return g
}

func (g *smsGateway) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.reqs)
}

// Ensure the generic JSON gateway gets {to, from, text, idempotency_key}
// with the bearer token, a 500 is retried after the backoff with the same
// idempotency key, and a 429's Retry-After is honoured.
func TestSMSGatewayJSON(t *testing.T) {
	f := newFixture(t, 1)
	p := f.deposit("PG-1001", ada)
	pin, _, _ := f.svc.PickupCode(f.ctx, p.ID)
	gw := newGateway(t, http.StatusInternalServerError, http.StatusTooManyRequests)
	d := f.dispatcher(notify.Config{SMS: &notify.SMSConfig{Provider: notify.SMSProviderJSON, URL: gw.URL + "/send",
		Token: "gw-token-123", From: "PARCELGRD"}}, nil)
	f.dispatch(d)
	sms := f.messages(parcelguard.MessageFilter{Channel: parcelguard.ChannelSMS})[0]
	if sms.State != parcelguard.MessagePending || sms.Attempts != 1 || !strings.Contains(sms.LastError, "500") {
		t.Fatalf("after a 500: %+v", sms)
	}
	// Backoff: 30 s with jitter 0.5 → 22.5 s. Not yet due at 20 s.
	f.clock.Advance(20 * time.Second)
	f.dispatch(d)
	if gw.count() != 1 {
		t.Fatalf("retried before the backoff: %d requests", gw.count())
	}
	f.clock.Advance(3 * time.Second)
	f.dispatch(d) // 429 with Retry-After 600
	f.clock.Advance(5 * time.Minute)
	f.dispatch(d)
	if gw.count() != 2 {
		t.Fatalf("retried before Retry-After: %d requests", gw.count())
	}
	f.clock.Advance(5 * time.Minute)
	f.dispatch(d)
	if gw.count() != 3 {
		t.Fatalf("%d requests, want 3", gw.count())
	}
	sms = f.messages(parcelguard.MessageFilter{Channel: parcelguard.ChannelSMS})[0]
	if sms.State != parcelguard.MessageSent || sms.Attempts != 3 {
		t.Fatalf("after success: %+v", sms)
	}
	for i, r := range gw.reqs {
		var body struct {
			To, From, Text string
			IdempotencyKey string `json:"idempotency_key"`
		}
		if err := json.Unmarshal(gw.bodies[i], &body); err != nil {
			t.Fatal(err)
		}
		if r.URL.Path != "/send" || r.Header.Get("Authorization") != "Bearer gw-token-123" ||
			r.Header.Get("Content-Type") != "application/json" || r.Header.Get("Idempotency-Key") != sms.IdempotencyKey ||
			body.To != ada.Phone || body.From != "PARCELGRD" || body.IdempotencyKey != sms.IdempotencyKey ||
			!strings.Contains(body.Text, pin) {
			t.Errorf("request %d: %s %v %s", i, r.URL.Path, r.Header, gw.bodies[i])
		}
	}
}

// Ensure the Twilio form: form-encoded To/From/Body to
// /2010-04-01/Accounts/{sid}/Messages.json with basic auth; a gateway
// that times out is retried; a 400 is permanent.
func TestSMSGatewayTwilio(t *testing.T) {
	f := newFixture(t, 2)
	f.deposit("PG-1001", ada)
	gw := newGateway(t)
	gw.delay = 5 * time.Second
	d := f.dispatcher(notify.Config{SMS: &notify.SMSConfig{Provider: notify.SMSProviderTwilio, URL: gw.URL,
		AccountSID: "AC123", AuthToken: "twilio-secret", From: "+15005550006", Timeout: 300 * time.Millisecond}}, nil)
	f.dispatch(d)
	sms := f.messages(parcelguard.MessageFilter{Channel: parcelguard.ChannelSMS})[0]
	if sms.State != parcelguard.MessagePending || !strings.Contains(sms.LastError, "deadline exceeded") {
		t.Fatalf("after a timeout: %s %q", sms.State, sms.LastError)
	}
	gw.mu.Lock()
	gw.delay = 0
	gw.mu.Unlock()
	f.clock.Advance(time.Minute)
	f.dispatch(d)
	sms = f.messages(parcelguard.MessageFilter{Channel: parcelguard.ChannelSMS})[0]
	if sms.State != parcelguard.MessageSent {
		t.Fatalf("after retry: %s %q", sms.State, sms.LastError)
	}
	gw.mu.Lock()
	r, body := gw.reqs[len(gw.reqs)-1], gw.bodies[len(gw.bodies)-1]
	gw.mu.Unlock()
	user, pass, ok := r.BasicAuth()
	form, err := parseForm(body)
	if err != nil {
		t.Fatal(err)
	}
	if r.URL.Path != "/2010-04-01/Accounts/AC123/Messages.json" || !ok || user != "AC123" || pass != "twilio-secret" ||
		r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || form.Get("To") != ada.Phone ||
		form.Get("From") != "+15005550006" || !strings.Contains(form.Get("Body"), "PG-1001") ||
		r.Header.Get("I-Twilio-Idempotency-Token") != sms.IdempotencyKey {
		t.Fatalf("twilio request %s %v %v", r.URL.Path, r.Header, form)
	}

	// A 400 (bad number, say) is not retried.
	gw.mu.Lock()
	gw.statuses = []int{http.StatusBadRequest}
	gw.mu.Unlock()
	q := f.deposit("PG-1002", ada)
	f.dispatch(d)
	m := f.messages(parcelguard.MessageFilter{ParcelID: q.ID, Channel: parcelguard.ChannelSMS})[0]
	if m.State != parcelguard.MessageDead || len(alarmsOf(t, f, q.ID)) != 1 {
		t.Fatalf("after a 400: %s %q", m.State, m.LastError)
	}
}

// Ensure carrier webhooks are signed with every secret of the carrier
// (rotation), verify with VerifyWebhook and either secret, carry the
// idempotency key, and are retried after a 500.
func TestWebhook(t *testing.T) {
	f := newFixture(t, 1)
	oldSecret, newSecret := "old-hook-secret-0123", "new-hook-secret-0123"
	var (
		mu       sync.Mutex
		verified []string
		calls    atomic.Int32
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		sig := r.Header.Get(notify.SignatureHeader)
		for _, secret := range []string{oldSecret, newSecret} {
			if err := notify.VerifyWebhook(sig, body, f.clock.Now(), 0, []byte(secret)); err != nil {
				t.Errorf("verify with %s: %v", secret, err)
			}
		}
		if err := notify.VerifyWebhook(sig, body, f.clock.Now(), 0, []byte("some-other-secret-99")); !errors.Is(err, notify.ErrWebhookSignature) {
			t.Errorf("verify with a wrong secret: %v", err)
		}
		var ev notify.WebhookEvent
		if err := json.Unmarshal(body, &ev); err != nil || ev.ID != r.Header.Get("Idempotency-Key") ||
			ev.Type != r.Header.Get(notify.EventTypeHeader) {
			t.Errorf("event %s, headers %v", body, r.Header)
		}
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		mu.Lock()
		verified = append(verified, ev.ID)
		mu.Unlock()
	}))
	defer srv.Close()
	f.deposit("PG-1001", ada)
	d := f.dispatcher(notify.Config{Webhooks: map[string]notify.WebhookConfig{f.carrier.ID: {URL: srv.URL,
		Secrets: []notify.Secret{notify.Secret(newSecret), notify.Secret(oldSecret)}}}}, nil)
	f.dispatch(d)
	f.clock.Advance(time.Minute)
	f.dispatch(d)
	if len(verified) != 1 || !strings.HasPrefix(verified[0], "webhook:evt_") || calls.Load() != 2 {
		t.Fatalf("verified %v after %d calls", verified, calls.Load())
	}
}

// Ensure a message failing transiently is retried with growing delays
// until 24 h after its creation, then marked dead with one alarm.
func TestDeadAfterMaxAge(t *testing.T) {
	f := newFixture(t, 1)
	p := f.deposit("PG-1001", parcelguard.Recipient{Name: "Bo", Phone: "+48600100200"})
	rec := &recorder{}
	for range 100 {
		rec.fail = append(rec.fail, errors.New("gateway down"))
	}
	d := f.dispatcher(notify.Config{}, map[parcelguard.Channel]notify.Sender{parcelguard.ChannelSMS: rec})
	start := f.clock.Now()
	var prevDelay time.Duration
	for i := 0; i < 200; i++ {
		f.dispatch(d)
		m := f.messages(parcelguard.MessageFilter{Channel: parcelguard.ChannelSMS})[0]
		if m.State == parcelguard.MessageDead {
			if got := f.clock.Now().Sub(start); got < 24*time.Hour || got > 24*time.Hour+time.Minute {
				t.Fatalf("dead after %v, want 24 h", got)
			}
			if m.Attempts < 20 || m.Attempts > 40 {
				t.Fatalf("%d attempts in 24 h", m.Attempts)
			}
			alarms := alarmsOf(t, f, p.ID)
			if len(alarms) != 1 || alarms[0].Data["attempts"] != fmt.Sprint(m.Attempts) || alarms[0].Data["error"] != "gateway down" {
				t.Fatalf("alarms %+v", alarms)
			}
			return
		}
		// With the jitter fixed, delays never shrink, except the last,
		// cut short to fall on the 24 h mark.
		delay := m.DueAt.Sub(f.clock.Now())
		if delay < prevDelay && !m.DueAt.Equal(start.Add(24*time.Hour)) {
			t.Fatalf("attempt %d: delay %v after %v", m.Attempts, delay, prevDelay)
		}
		prevDelay = delay
		f.clock.Set(m.DueAt)
	}
	t.Fatal("never went dead")
}

// Ensure several dispatchers on one store deliver every message exactly
// once between them.
func TestSeveralDispatchers(t *testing.T) {
	f := newFixture(t, 30)
	for i := range 30 {
		f.deposit(fmt.Sprintf("PG-%04d", i), ada)
	}
	rec := &recorder{}
	senders := map[parcelguard.Channel]notify.Sender{parcelguard.ChannelEmail: rec, parcelguard.ChannelSMS: rec, parcelguard.ChannelWebhook: rec}
	var wg sync.WaitGroup
	for range 4 {
		d, err := notify.New(notify.Config{Dispatch: notify.DispatchConfig{Batch: 5, Workers: 3}},
			notify.Options{Store: f.db, Clock: f.clock, Keys: f.keys, Codes: f.svc, Senders: senders})
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			if _, err := d.DispatchDue(f.ctx); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	keys := rec.keys()
	if len(keys) != 90 {
		t.Fatalf("%d distinct messages sent, want 90", len(keys))
	}
	for k, n := range keys {
		if n != 1 {
			t.Errorf("%s sent %d times", k, n)
		}
	}
}

// Ensure a crash between sending and recording loses no message and
// repeats each at most once, with the same idempotency key: the store is
// closed in the middle of a dispatch pass, reopened, and a new dispatcher
// finishes the work once the leases run out.
func TestKillAndRestart(t *testing.T) {
	f := newFixture(t, 20)
	for i := range 20 {
		f.deposit(fmt.Sprintf("PG-%04d", i), ada)
	}
	const total = 60
	var (
		sent    atomic.Int32
		crashed = make(chan struct{})
		once    sync.Once
	)
	rec := &recorder{}
	rec.hook = func(*notify.Rendered) {
		if sent.Add(1) == 25 {
			once.Do(func() {
				// The process dies: the store goes away under the dispatcher.
				go func() { f.db.Close(); close(crashed) }()
				<-crashed
			})
		}
	}
	senders := map[parcelguard.Channel]notify.Sender{parcelguard.ChannelEmail: rec, parcelguard.ChannelSMS: rec, parcelguard.ChannelWebhook: rec}
	cfg := notify.Config{Dispatch: notify.DispatchConfig{Batch: 10, Workers: 4, Lease: time.Minute}}
	d, err := notify.New(cfg, notify.Options{Store: f.db, Clock: f.clock, Keys: f.keys, Codes: f.svc, Senders: senders})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.DispatchDue(f.ctx); err == nil {
		t.Fatal("dispatch survived the crash")
	}
	before := len(rec.keys())
	if before == 0 || before >= total {
		t.Fatalf("%d messages sent before the crash", before)
	}

	f.open() // restart
	d, err = notify.New(cfg, notify.Options{Store: f.db, Clock: f.clock, Keys: f.keys, Codes: f.svc, Senders: senders})
	if err != nil {
		t.Fatal(err)
	}
	f.dispatch(d)
	f.clock.Advance(time.Minute) // leases of the messages in flight at the crash run out
	f.dispatch(d)
	for _, m := range f.messages(parcelguard.MessageFilter{}) {
		if m.State != parcelguard.MessageSent {
			t.Fatalf("message %s %s after restart: %s", m.ID, m.State, m.LastError)
		}
	}
	keys, dups := rec.keys(), 0
	if len(keys) != total {
		t.Fatalf("%d distinct messages delivered, want %d", len(keys), total)
	}
	for k, n := range keys {
		switch {
		case n == 2:
			dups++
		case n > 2:
			t.Errorf("%s delivered %d times", k, n)
		}
	}
	if dups > 4 { // at most the messages in flight at the crash, one per worker
		t.Errorf("%d duplicates, want at most 4", dups)
	}
	t.Logf("%d sent before the crash, %d duplicates after restart", before, dups)
}

// parseForm decodes an application/x-www-form-urlencoded body.
func parseForm(b []byte) (interface{ Get(string) string }, error) {
	r := &http.Request{Method: http.MethodPost, Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
		Body: io.NopCloser(bytes.NewReader(b))}
	if err := r.ParseForm(); err != nil {
		return nil, err
	}
	return r.PostForm, nil
}

// Ensure an outcome that cannot be recorded (its lease was taken over
// while it was being sent, so its retry is refused) holds back none of the
// outcomes recorded together with it, and the pass reports it.
func TestRecordFailureIsolated(t *testing.T) {
	f := newFixture(t, 3)
	for i := range 3 {
		f.deposit(fmt.Sprintf("PG-%04d", i), ada)
	}
	const total = 9
	var (
		arrived sync.WaitGroup
		steal   sync.Once
	)
	arrived.Add(total)
	rec := &recorder{fail: []error{errors.New("421 try again later")}}
	rec.hook = func(*notify.Rendered) {
		// Every send waits for the others, so that their outcomes come in
		// together; meanwhile another dispatcher takes over every lease.
		arrived.Done()
		arrived.Wait()
		steal.Do(func() {
			if err := f.db.Update(f.ctx, func(tx parcelguard.Tx) error {
				_, err := tx.ClaimMessages(f.ctx, f.clock.Now().Add(time.Hour), total, time.Minute)
				return err
			}); err != nil {
				t.Error(err)
			}
		})
	}
	senders := map[parcelguard.Channel]notify.Sender{parcelguard.ChannelEmail: rec, parcelguard.ChannelSMS: rec, parcelguard.ChannelWebhook: rec}
	d, err := notify.New(notify.Config{Dispatch: notify.DispatchConfig{Batch: total, Workers: total}},
		notify.Options{Store: f.db, Clock: f.clock, Keys: f.keys, Codes: f.svc, Senders: senders})
	if err != nil {
		t.Fatal(err)
	}
	n, err := d.DispatchDue(f.ctx)
	if n != total || !errors.Is(err, parcelguard.ErrConflict) {
		t.Fatalf("dispatched %d (%v), want %d and a conflict", n, err, total)
	}
	sent := 0
	for _, m := range f.messages(parcelguard.MessageFilter{}) {
		if m.State == parcelguard.MessageSent {
			sent++
		} else if !strings.Contains(err.Error(), m.ID) {
			t.Errorf("message %s is %s, and the error does not name it: %v", m.ID, m.State, err)
		}
	}
	if sent != total-1 {
		t.Fatalf("%d messages recorded sent, want %d", sent, total-1)
	}
}

// countingCodes counts the PINs fetched from the service, and those
// fetched in a transaction of their own.
type countingCodes struct {
	*service.Service
	calls, alone atomic.Int32
}

func (c *countingCodes) PickupCode(ctx context.Context, parcelID string) (string, *parcelguard.Grant, error) {
	c.calls.Add(1)
	c.alone.Add(1)
	return c.Service.PickupCode(ctx, parcelID)
}

func (c *countingCodes) PickupCodeIn(ctx context.Context, tx parcelguard.Tx, parcelID string) (string, *parcelguard.Grant, error) {
	c.calls.Add(1)
	return c.Service.PickupCodeIn(ctx, tx, parcelID)
}

// Ensure a batch fetches each parcel's PIN once for its e-mail and SMS,
// inside the batch's one read, and every message still carries its own
// parcel's PIN.
func TestBatchFetchesEachPINOnce(t *testing.T) {
	f := newFixture(t, 5)
	pins := map[string]string{}
	for i := range 5 {
		p := f.deposit(fmt.Sprintf("PG-%04d", i), ada)
		pin, _, err := f.svc.PickupCode(f.ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		pins[p.TrackingNumber] = pin
	}
	codes := &countingCodes{Service: f.svc}
	rec := &recorder{}
	senders := map[parcelguard.Channel]notify.Sender{parcelguard.ChannelEmail: rec, parcelguard.ChannelSMS: rec, parcelguard.ChannelWebhook: rec}
	d, err := notify.New(notify.Config{}, notify.Options{Store: f.db, Clock: f.clock, Keys: f.keys, Codes: codes, Senders: senders})
	if err != nil {
		t.Fatal(err)
	}
	if n := f.dispatch(d); n != 15 {
		t.Fatalf("dispatched %d, want 15", n)
	}
	if n, alone := codes.calls.Load(), codes.alone.Load(); n != 5 || alone != 0 {
		t.Errorf("%d PINs fetched for 5 parcels, %d of them outside the batch's read", n, alone)
	}
	withPIN := 0
	for _, r := range rec.sent {
		if r.Kind != parcelguard.MessageDeposit {
			continue
		}
		for tracking, pin := range pins {
			if strings.Contains(r.Text, tracking) {
				if !strings.Contains(r.Text, pin) {
					t.Errorf("%s message for %s lacks its PIN", r.Channel, tracking)
				}
				withPIN++
			}
		}
	}
	if withPIN != 10 {
		t.Errorf("%d deposit notices name their parcel, want 10", withPIN)
	}
}
