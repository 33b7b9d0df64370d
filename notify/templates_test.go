package notify

import (
	"flag"
	"html"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// sampleView is the fixed data every golden file is rendered from.
func sampleView(lang string, kind parcelguard.MessageKind) *View {
	loc, _ := time.LoadLocation("Europe/Berlin")
	deadline := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	v := &View{Lang: lang, Kind: kind, Name: "Ada Lovelace", Tracking: "PG-1001", Carrier: "Fast Parcel",
		PhoneFactor: true,
		Deadline:    FormatTime(lang, deadline, loc), DeadlineShort: FormatShort(lang, deadline, loc),
		Site: &SiteView{Name: "Main Station", Address: "Bahnhofplatz 1, 80335 München", Hours: "24/7",
			Lat: "48.140000", Lon: "11.560000",
			MapURL: "https://www.openstreetmap.org/?mlat=48.140000&mlon=11.560000#map=18/48.140000/11.560000"}}
	if kind != parcelguard.MessageDelegateCode && kind != parcelguard.MessageDoorstepDelegate {
		v.TrackURL = "https://parcels.example.com/track#pgr_SAMPLE"
	}
	switch kind {
	case parcelguard.MessageDeposit, parcelguard.MessageReminder:
		v.Code, v.QRSrc = "482913", "cid:qr.msg_1@parcelguard"
	case parcelguard.MessagePickedUp:
		v.At = FormatTime(lang, deadline.Add(-30*time.Hour), loc)
	case parcelguard.MessageDoorstepPassword:
		v.Code, v.Site, v.Deadline, v.DeadlineShort = "735184", nil, "", ""
		v.Date = FormatDate(lang, deadline, loc)
	case parcelguard.MessageAttemptFailed:
		v.Site, v.Deadline, v.DeadlineShort = nil, "", ""
		v.NewDate = FormatDate(lang, deadline.Add(24*time.Hour), loc)
	case parcelguard.MessageDelegateCode:
		v.Code, v.QRSrc, v.Name, v.OnBehalfOf, v.PhoneFactor = "209461", "cid:qr.msg_2@parcelguard", "Charles Babbage", "Ada Lovelace", false
	case parcelguard.MessageDoorstepDelegate:
		v.Code, v.Site, v.Deadline, v.DeadlineShort = "561230", nil, "", ""
		v.Name, v.OnBehalfOf, v.PhoneFactor = "Charles Babbage", "Ada Lovelace", false
		v.Date = FormatDate(lang, deadline, loc)
	case parcelguard.MessageDoorstepRedirected:
		v.Deadline, v.DeadlineShort = "", ""
	case parcelguard.MessageDoorstepReturned:
		v.Site, v.Deadline, v.DeadlineShort = nil, "", ""
	case parcelguard.MessageDoorstepPasswordDisabled:
		v.Site, v.Deadline, v.DeadlineShort = nil, "", ""
		v.Date, v.NewDate = FormatDate(lang, deadline, loc), FormatDate(lang, deadline.Add(24*time.Hour), loc)
	}
	return v
}

// Ensure every kind renders in every language as its golden file says
// (go test ./notify -run TestGolden -update rewrites them).
func TestGolden(t *testing.T) {
	for _, kind := range Kinds {
		for _, lang := range Languages {
			t.Run(string(kind)+"/"+lang, func(t *testing.T) {
				c, err := RenderContent(sampleView(lang, kind))
				if err != nil {
					t.Fatal(err)
				}
				got := "Subject: " + c.Subject + "\n\n----- text -----\n" + c.Text + "\n----- sms -----\n" + c.SMS +
					"\n\n----- html -----\n" + c.HTML
				path := filepath.Join("testdata", string(kind)+"."+lang+".golden")
				if *update {
					if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run with -update to create)", err)
				}
				if got != string(want) {
					t.Errorf("%s differs from the golden file (run with -update after checking):\n%s", path, got)
				}
			})
		}
	}
}

// Ensure every code message, in every language, says what the code is
// for and that nobody will ask for it, and keeps the code out of the
// subject and the first line of the SMS (SECURITY.md 18); and that
// messages without a code carry none.
func TestCodeRules(t *testing.T) {
	all, err := loadTemplates()
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range Kinds {
		for _, lang := range Languages {
			v := sampleView(lang, kind)
			c, err := RenderContent(v)
			if err != nil {
				t.Fatal(err)
			}
			if !kind.CarriesCode() {
				if v.Code != "" || strings.Contains(c.Text, "482913") {
					t.Errorf("%s/%s: message without a code shows one", kind, lang)
				}
				continue
			}
			block := func(name string) string {
				var b strings.Builder
				if err := all[lang][kind].text.ExecuteTemplate(&b, string(kind)+"/"+name, v); err != nil {
					t.Fatal(err)
				}
				return b.String()
			}
			for _, name := range []string{"purpose", "never_ask", "code_label"} {
				s := block(name)
				if len(s) < 10 && name != "code_label" {
					t.Errorf("%s/%s: %s block is empty", kind, lang, name)
				}
				if !strings.Contains(c.Text, s) || !strings.Contains(html.UnescapeString(c.HTML), s) {
					t.Errorf("%s/%s: %s block missing from a body", kind, lang, name)
				}
			}
			if !strings.Contains(strings.ToLower(block("never_ask")), "parcelguard") {
				t.Errorf("%s/%s: the never-ask sentence does not name parcelguard", kind, lang)
			}
			if strings.Contains(c.Subject, v.Code) {
				t.Errorf("%s/%s: code in subject %q", kind, lang, c.Subject)
			}
			first, rest, _ := strings.Cut(c.SMS, "\n")
			if strings.Contains(first, v.Code) || !strings.Contains(rest, v.Code) {
				t.Errorf("%s/%s: SMS must show the code after its first line:\n%s", kind, lang, c.SMS)
			}
			if !strings.Contains(c.Text, v.Code) || !strings.Contains(c.HTML, v.Code) {
				t.Errorf("%s/%s: code missing from a body", kind, lang)
			}
			for _, href := range strings.Split(c.HTML, "href=\"")[1:] {
				if u, _, _ := strings.Cut(href, "\""); strings.Contains(u, v.Code) {
					t.Errorf("%s/%s: code in a link %q", kind, lang, u)
				}
			}
		}
	}
}

// Ensure unknown and regional language tags fall back sensibly.
func TestLanguage(t *testing.T) {
	for tag, want := range map[string]string{"": "en", "pl": "pl", "de-AT": "de", "IT": "it", "fr": "en", "en-GB": "en"} {
		if got := Language(tag); got != want {
			t.Errorf("Language(%q) = %q, want %q", tag, got, want)
		}
	}
}
