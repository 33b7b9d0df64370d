package notify

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"strings"
	"sync"
	texttemplate "text/template"
	"time"

	"github.com/parcelguard/parcelguard"
)

// templateFS holds one file per language with every kind's texts
// (blocks named "<kind>/subject", "<kind>/intro", "<kind>/sms", and for
// code messages "<kind>/code_label", "<kind>/purpose", "<kind>/never_ask"),
// plus the layouts that arrange them into a plain-text and an HTML e-mail.
//
//go:embed templates/*.tmpl
var templateFS embed.FS

// Languages are the languages messages are written in; others fall back to
// DefaultLanguage.
var Languages = []string{"en", "de", "it", "pl"}

// DefaultLanguage is the fallback language.
const DefaultLanguage = "en"

// Kinds lists the recipient message kinds that have templates.
var Kinds = []parcelguard.MessageKind{
	parcelguard.MessageDeposit, parcelguard.MessageReminder, parcelguard.MessageExpiry, parcelguard.MessagePickedUp,
	parcelguard.MessageDoorstepPassword, parcelguard.MessageAttemptFailed, parcelguard.MessageDelegateCode,
	parcelguard.MessageDoorstepDelegate, parcelguard.MessageDoorstepRedirected, parcelguard.MessageDoorstepReturned,
	parcelguard.MessageDoorstepPasswordDisabled,
	parcelguard.MessageRedirected,
	parcelguard.MessageOutage, parcelguard.MessageDeadlineExtended,
}

// View is what a template sees. Every field is plain text; html/template
// escapes it in the HTML body.
type View struct {
	Lang string
	Kind parcelguard.MessageKind
	// Name is the recipient's name.
	Name     string
	Tracking string
	Carrier  string
	// Code is the PIN, delivery password or delegate code of a code
	// message, empty otherwise. It appears in bodies only, never in a
	// subject, a URL or the first line of an SMS.
	Code string
	// PhoneFactor says the locker also asks for the phone's last digits.
	PhoneFactor bool
	// QRSrc is the inline QR image's address ("cid:..."), empty for none.
	QRSrc htmltemplate.URL
	// Deadline and DeadlineShort are the storage deadline in the locker's
	// time zone, long (e-mail) and short (SMS).
	Deadline, DeadlineShort string
	// At is when the event happened (pickup time), in the locker's zone.
	At string
	// Date is the delivery date of a doorstep parcel; NewDate the next
	// attempt's date after a failed one.
	Date, NewDate string
	// Delegate names who collected or is to collect on the recipient's
	// behalf; empty when the recipient did. OnBehalfOf is the recipient,
	// in a delegate's message.
	Delegate, OnBehalfOf string
	Site                 *SiteView
	// TrackURL is the recipient's tracking page with the magic link in its
	// fragment ("https://…/track#pgr_…"), empty for none (a delegate's
	// message never carries the recipient's link).
	TrackURL string
}

// SiteView is the locker as a message shows it.
type SiteView struct {
	Name, Address, Hours string
	// MapURL shows the locker's coordinates on a map; it carries no code.
	MapURL   string
	Lat, Lon string
}

// Content is a rendered recipient message.
type Content struct {
	Subject string
	Text    string
	HTML    string
	SMS     string
}

type templateSet struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

var (
	templatesOnce sync.Once
	templates     map[string]map[parcelguard.MessageKind]*templateSet
	templatesErr  error
)

// loadTemplates parses every language × kind once: the language file plus
// both layouts, with the layouts' "@/" block prefix bound to the kind.
func loadTemplates() (map[string]map[parcelguard.MessageKind]*templateSet, error) {
	templatesOnce.Do(func() {
		textLayout, err := templateFS.ReadFile("templates/layout.txt.tmpl")
		if err != nil {
			templatesErr = err
			return
		}
		htmlLayout, err := templateFS.ReadFile("templates/layout.html.tmpl")
		if err != nil {
			templatesErr = err
			return
		}
		templates = map[string]map[parcelguard.MessageKind]*templateSet{}
		for _, lang := range Languages {
			src, err := templateFS.ReadFile("templates/" + lang + ".tmpl")
			if err != nil {
				templatesErr = err
				return
			}
			templates[lang] = map[parcelguard.MessageKind]*templateSet{}
			for _, kind := range Kinds {
				bind := func(layout []byte) string {
					return strings.ReplaceAll(string(layout), `"@/`, `"`+string(kind)+`/`)
				}
				name := lang + "/" + string(kind)
				// Empty defaults for the code blocks, which only code
				// messages define: html/template insists that every
				// template a layout calls exists.
				defaults := strings.ReplaceAll(`{{define "K/code_label"}}{{end}}{{define "K/purpose"}}{{end}}{{define "K/never_ask"}}{{end}}`,
					"K/", string(kind)+"/")
				tt, err := texttemplate.New(name).Option("missingkey=error").Parse(defaults)
				if err == nil {
					tt, err = tt.Parse(string(src))
				}
				if err == nil {
					tt, err = tt.Parse(bind(textLayout))
				}
				if err != nil {
					templatesErr = fmt.Errorf("template %s (text): %w", name, err)
					return
				}
				ht, err := htmltemplate.New(name).Option("missingkey=error").Parse(defaults)
				if err == nil {
					ht, err = ht.Parse(string(src))
				}
				if err == nil {
					ht, err = ht.Parse(bind(htmlLayout))
				}
				if err != nil {
					templatesErr = fmt.Errorf("template %s (html): %w", name, err)
					return
				}
				templates[lang][kind] = &templateSet{text: tt, html: ht}
			}
		}
	})
	return templates, templatesErr
}

// Language picks the template language for a BCP 47 tag: its primary
// subtag if supported ("de-AT" → "de"), else DefaultLanguage.
func Language(tag string) string {
	primary, _, _ := strings.Cut(strings.ToLower(tag), "-")
	for _, l := range Languages {
		if l == primary {
			return l
		}
	}
	return DefaultLanguage
}

// RenderContent renders the subject, both e-mail bodies and the SMS of a
// message kind in v.Lang (falling back to DefaultLanguage).
func RenderContent(v *View) (*Content, error) {
	return renderContent(v, partsEmail|partsSMS)
}

// parts says which of a Content to render: a message goes out on one
// channel, and rendering the other's templates would be wasted.
type parts uint8

const (
	partsEmail parts = 1 << iota // Subject, Text and HTML
	partsSMS                     // SMS
)

// partsOf is what a message on channel ch needs.
func partsOf(ch parcelguard.Channel) parts {
	if ch == parcelguard.ChannelSMS {
		return partsSMS
	}
	return partsEmail
}

func renderContent(v *View, want parts) (*Content, error) {
	all, err := loadTemplates()
	if err != nil {
		return nil, err
	}
	v.Lang = Language(v.Lang)
	set, ok := all[v.Lang][v.Kind]
	if !ok {
		return nil, fmt.Errorf("no template for %s messages", v.Kind)
	}
	run := func(name string) (string, error) {
		var b bytes.Buffer
		if err := set.text.ExecuteTemplate(&b, name, v); err != nil {
			return "", fmt.Errorf("render %s/%s %s: %w", v.Lang, v.Kind, name, err)
		}
		return b.String(), nil
	}
	var c Content
	if want&partsSMS != 0 {
		if c.SMS, err = run(string(v.Kind) + "/sms"); err != nil {
			return nil, err
		}
		c.SMS = strings.TrimSpace(c.SMS)
		if v.TrackURL != "" {
			label, err := run("track_sms")
			if err != nil {
				return nil, err
			}
			c.SMS += "\n" + label + " " + v.TrackURL // never on the first line
		}
	}
	if want&partsEmail == 0 {
		return &c, nil
	}
	if c.Subject, err = run(string(v.Kind) + "/subject"); err != nil {
		return nil, err
	}
	c.Subject = strings.Join(strings.Fields(c.Subject), " ") // one line, always
	if c.Text, err = run("text"); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := set.html.ExecuteTemplate(&b, "html", v); err != nil {
		return nil, fmt.Errorf("render %s/%s html: %w", v.Lang, v.Kind, err)
	}
	c.HTML = b.String()
	c.Text = tidy(c.Text)
	return &c, nil
}

// tidy trims trailing blanks and collapses runs of blank lines that
// optional blocks leave behind.
func tidy(s string) string {
	lines := strings.Split(s, "\n")
	out := lines[:0]
	blank := true
	for _, l := range lines {
		l = strings.TrimRight(l, " \t")
		if l == "" {
			if blank {
				continue
			}
			blank = true
		} else {
			blank = false
		}
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n")) + "\n"
}

// Date formatting per language: the long form for e-mail, the short one for
// SMS. Month and weekday names are spelled out because a numeric date
// reads differently in each country.
var (
	monthNames = map[string][12]string{
		"en": {"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
		"de": {"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"},
		"it": {"gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto", "settembre", "ottobre", "novembre", "dicembre"},
		// Polish dates take the genitive: "26 listopada".
		"pl": {"stycznia", "lutego", "marca", "kwietnia", "maja", "czerwca", "lipca", "sierpnia", "września", "października", "listopada", "grudnia"},
	}
	weekdayNames = map[string][7]string{
		"en": {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"},
		"de": {"Sonntag", "Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag"},
		"it": {"domenica", "lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato"},
		"pl": {"niedziela", "poniedziałek", "wtorek", "środa", "czwartek", "piątek", "sobota"},
	}
)

// FormatTime formats t in loc for lang, long form with time of day:
// "Thursday, 26 November 2026, 10:00 CET".
func FormatTime(lang string, t time.Time, loc *time.Location) string {
	t = t.In(loc)
	return FormatDate(lang, t, loc) + ", " + t.Format("15:04") + timeSuffix(lang) + " " + t.Format("MST")
}

// FormatDate formats the day of t in loc for lang: "Thursday, 26 November
// 2026" (Polish without the weekday).
func FormatDate(lang string, t time.Time, loc *time.Location) string {
	t = t.In(loc)
	lang = Language(lang)
	wd, mo := weekdayNames[lang][t.Weekday()], monthNames[lang][t.Month()-1]
	switch lang {
	case "de":
		return fmt.Sprintf("%s, %d. %s %d", wd, t.Day(), mo, t.Year())
	case "it":
		return fmt.Sprintf("%s %d %s %d", wd, t.Day(), mo, t.Year())
	case "pl":
		// Polish puts the date after "do" (until) in the genitive, where a
		// weekday in the nominative would not fit: no weekday.
		return fmt.Sprintf("%d %s %d", t.Day(), mo, t.Year())
	}
	return fmt.Sprintf("%s, %d %s %d", wd, t.Day(), mo, t.Year())
}

// FormatShort formats t in loc for an SMS: "26.11. 10:00" ("26 Nov 10:00" in English).
func FormatShort(lang string, t time.Time, loc *time.Location) string {
	t = t.In(loc)
	if Language(lang) == "en" {
		return t.Format("2 Jan 15:04")
	}
	return t.Format("02.01. 15:04")
}

func timeSuffix(lang string) string {
	if Language(lang) == "de" {
		return " Uhr"
	}
	return ""
}
