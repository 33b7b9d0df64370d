package notify

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// Ensure a signature verifies with any of the signer's secrets (rotation),
// and fails for another secret, a changed body, a stale timestamp or a
// malformed header.
func TestVerifyWebhook(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	body := []byte(`{"id":"webhook:par_1:parcel.deposited","type":"parcel.deposited"}`)
	oldSecret, newSecret := Secret("old-secret-0123456789"), Secret("new-secret-0123456789")
	header := SignWebhook(body, now, newSecret, oldSecret)
	if n := strings.Count(header, "v1="); n != 2 || !strings.HasPrefix(header, fmt.Sprintf("t=%d,", now.Unix())) {
		t.Fatalf("header %q: want t= and two v1 entries", header)
	}
	for _, c := range []struct {
		name    string
		header  string
		body    []byte
		now     time.Time
		secrets []string
		want    error
	}{
		{"OldSecret", header, body, now, []string{string(oldSecret)}, nil},
		{"NewSecret", header, body, now.Add(4 * time.Minute), []string{string(newSecret)}, nil},
		{"EitherOfTwo", header, body, now, []string{"unrelated-secret-000", string(newSecret)}, nil},
		{"ErrSignature/OtherSecret", header, body, now, []string{"unrelated-secret-000"}, ErrWebhookSignature},
		{"ErrSignature/Body", header, append([]byte(" "), body...), now, []string{string(oldSecret)}, ErrWebhookSignature},
		{"ErrSignature/Timestamp", strings.Replace(header, fmt.Sprint(now.Unix()), fmt.Sprint(now.Unix()+1), 1), body, now,
			[]string{string(oldSecret)}, ErrWebhookSignature},
		{"ErrStale", header, body, now.Add(6 * time.Minute), []string{string(oldSecret)}, ErrWebhookStale},
		{"ErrStale/Future", header, body, now.Add(-6 * time.Minute), []string{string(oldSecret)}, ErrWebhookStale},
		{"ErrMalformed/Empty", "", body, now, []string{string(oldSecret)}, ErrWebhookMalformed},
		{"ErrMalformed/NoSig", fmt.Sprintf("t=%d", now.Unix()), body, now, []string{string(oldSecret)}, ErrWebhookMalformed},
		{"ErrMalformed/Hex", fmt.Sprintf("t=%d,v1=zz", now.Unix()), body, now, []string{string(oldSecret)}, ErrWebhookMalformed},
	} {
		t.Run(c.name, func(t *testing.T) {
			var secrets [][]byte
			for _, s := range c.secrets {
				secrets = append(secrets, []byte(s))
			}
			if err := VerifyWebhook(c.header, c.body, c.now, 0, secrets...); !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

// Ensure secrets never print, marshal or log.
func TestSecretRedaction(t *testing.T) {
	cfg := Config{
		Email:    &SMTPConfig{Host: "smtp.example.com", Username: "pg", Password: "smtp-pass-xyz", From: "pg <noreply@example.com>"},
		SMS:      &SMSConfig{Provider: SMSProviderTwilio, AccountSID: "AC1", AuthToken: "twilio-token-xyz", Token: "bearer-xyz", From: "+15550001"},
		Webhooks: map[string]WebhookConfig{"car_1": {URL: "https://carrier.example/hook", Secrets: []Secret{"hook-secret-xyz-0123"}}},
	}
	for _, s := range []string{cfg.String(), fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg.Email.Password),
		fmt.Sprint(*cfg.Email), fmt.Sprint(*cfg.SMS), fmt.Sprintf("%v", cfg.Webhooks)} {
		for _, secret := range []string{"smtp-pass-xyz", "twilio-token-xyz", "bearer-xyz", "hook-secret-xyz"} {
			if strings.Contains(s, secret) {
				t.Errorf("%q leaks %s", s, secret)
			}
		}
	}
	if cfg.Email.Password.Reveal() != "smtp-pass-xyz" {
		t.Fatal("Reveal lost the secret")
	}
}

// Ensure configuration errors are all reported.
func TestConfigValidate(t *testing.T) {
	if err := (Config{}).Validate(); err != nil {
		t.Fatalf("zero config (mailbox only): %v", err)
	}
	bad := Config{
		Email:    &SMTPConfig{Security: "ssl3"},
		SMS:      &SMSConfig{Provider: SMSProviderTwilio},
		Webhooks: map[string]WebhookConfig{"car_1": {URL: "ftp://x", Secrets: []Secret{"short"}}},
	}
	err := bad.Validate()
	for _, want := range []string{"host is required", "from", "security", "account sid", "from number", "url", "16 bytes"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to mention %q", err, want)
		}
	}
}

// Ensure the backoff doubles from RetryBase with jitter between half and
// all of the delay, caps at RetryMax, and never passes MaxAge.
func TestNextAttempt(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	d := &Dispatcher{cfg: DispatchConfig{}.withDefaults()}
	m := newTestMessage(now)
	for _, c := range []struct {
		attempts int
		rand     float64
		want     time.Duration
	}{
		{1, 0, 15 * time.Second}, {1, 0.999999, 30 * time.Second}, {2, 0, 30 * time.Second},
		{3, 0.5, 90 * time.Second}, {10, 0, 30 * time.Minute}, {40, 0.999999, time.Hour},
	} {
		d.rand = func() float64 { return c.rand }
		m.Attempts = c.attempts
		got := d.nextAttempt(m, now, 0).Sub(now)
		if got < c.want-10*time.Millisecond || got > c.want+10*time.Millisecond {
			t.Errorf("attempt %d rand %v: delay %v, want %v", c.attempts, c.rand, got, c.want)
		}
	}
	d.rand = func() float64 { return 0 }
	m.Attempts = 1
	if got := d.nextAttempt(m, now, 10*time.Minute).Sub(now); got != 10*time.Minute {
		t.Errorf("Retry-After 10m: delay %v", got)
	}
	late := now.Add(23*time.Hour + 59*time.Minute)
	m.Attempts = 30
	if got := d.nextAttempt(m, late, 0); !got.Equal(now.Add(24 * time.Hour)) {
		t.Errorf("near MaxAge: next %v, want the deadline %v", got, now.Add(24*time.Hour))
	}
}

// Ensure secret files are read without their newline, and refused when
// others may read them.
func TestReadSecretFile(t *testing.T) {
	dir := t.TempDir()
	good, loose := dir+"/good", dir+"/loose"
	if err := os.WriteFile(good, []byte("s3cret-value\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(loose, []byte("s3cret-value\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if s, err := ReadSecretFile(good); err != nil || s.Reveal() != "s3cret-value" {
		t.Fatalf("ReadSecretFile = %q, %v", s.Reveal(), err)
	}
	if _, err := ReadSecretFile(loose); err == nil {
		t.Fatal("a world-readable secret file was accepted")
	}
}
