package notify_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/notify"
)

// Ensure every message to the recipient links to the tracking page with a
// working magic link in the URL's fragment (e-mail text and HTML, and the
// SMS past its first line), and that a delegate's message carries none.
func TestTrackingLinkInMessages(t *testing.T) {
	f := newFixture(t, 2)
	p := f.deposit("PG-2001", ada)
	a := must(f.svc.AuthenticateRecipient(f.ctx, must(f.svc.RecipientLink(f.ctx, p.ID))(t)))(t)
	if _, _, err := f.svc.CreateDelegate(f.ctx, a, parcelguard.Delegate{Name: "Charles", Email: "charles@example.com"}); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	senders := map[parcelguard.Channel]notify.Sender{parcelguard.ChannelEmail: rec, parcelguard.ChannelSMS: rec}
	d, err := notify.New(notify.Config{}, notify.Options{Store: f.db, Clock: f.clock, Keys: f.keys, Senders: senders,
		Codes: notify.Linked{Codes: f.svc, PublicURL: "https://parcels.example.com/"}})
	if err != nil {
		t.Fatal(err)
	}
	f.dispatch(d)
	link := regexp.MustCompile(`https://parcels\.example\.com/track#(pgr_[A-Za-z0-9_-]+)`)
	seen := map[string]bool{}
	for _, m := range rec.sent {
		body := m.Text + m.HTML
		if m.Kind == parcelguard.MessageDelegateCode {
			if strings.Contains(body, "/track") || strings.Contains(body, "pgr_") {
				t.Errorf("a delegate's %s message carries the recipient's link:\n%s", m.Channel, body)
			}
			continue
		}
		seen[string(m.Kind)+"/"+string(m.Channel)] = true
		got := link.FindStringSubmatch(m.Text)
		if got == nil {
			t.Fatalf("%s/%s without a tracking link:\n%s", m.Kind, m.Channel, m.Text)
		}
		if m.Channel == parcelguard.ChannelSMS && strings.Contains(strings.SplitN(m.Text, "\n", 2)[0], "pgr_") {
			t.Errorf("SMS link on the first line: %q", m.Text)
		}
		if m.Channel == parcelguard.ChannelEmail && !strings.Contains(m.HTML, `href="https://parcels.example.com/track#`+got[1]+`"`) {
			t.Errorf("HTML e-mail lacks the link:\n%s", m.HTML)
		}
		acc, err := f.svc.AuthenticateRecipient(f.ctx, got[1])
		if err != nil || acc.ParcelID() != p.ID {
			t.Errorf("the message's link does not open the parcel: %v", err)
		}
	}
	if !seen["deposit/email"] || !seen["deposit/sms"] {
		t.Errorf("deposit messages not sent: %v", seen)
	}
}

// Ensure a public URL must be a plain http(s) address.
func TestPageBase(t *testing.T) {
	for in, want := range map[string]string{
		"https://parcels.example.com/": "https://parcels.example.com",
		"http://127.0.0.1:8080":        "http://127.0.0.1:8080",
		"https://example.com/pg/":      "https://example.com/pg",
		"ftp://example.com":            "",
		"example.com":                  "",
		"https://example.com/?a=1":     "",
		"https://u:p@example.com":      "",
		"https://example.com/#x":       "",
	} {
		got, err := notify.PageBase(in)
		if (err != nil) != (want == "") || got != want {
			t.Errorf("PageBase(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
