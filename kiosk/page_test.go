package kiosk_test

import (
	"context"
	"io"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/parcelguard/parcelguard/kiosk"
)

// voidElements have no end tag.
var voidElements = map[string]bool{"area": true, "base": true, "br": true, "col": true, "embed": true, "hr": true,
	"img": true, "input": true, "link": true, "meta": true, "source": true, "track": true, "wbr": true}

// wellFormed checks that every non-void element is closed in order, with
// the tokenizer (html.Parse repairs what it is given, so it cannot tell).
func wellFormed(t *testing.T, body string) {
	t.Helper()
	z := html.NewTokenizer(strings.NewReader(body))
	var stack []string
	for {
		switch z.Next() {
		case html.ErrorToken:
			if z.Err() != io.EOF {
				t.Fatalf("tokenizer: %v", z.Err())
			}
			if len(stack) != 0 {
				t.Fatalf("unclosed elements %v", stack)
			}
			return
		case html.StartTagToken:
			name, _ := z.TagName()
			if !voidElements[string(name)] {
				stack = append(stack, string(name))
			}
		case html.SelfClosingTagToken:
			name, _ := z.TagName()
			if !voidElements[string(name)] {
				t.Fatalf("self-closed <%s/>", name)
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			if len(stack) == 0 || stack[len(stack)-1] != string(name) {
				t.Fatalf("</%s> closes %v", name, stack)
			}
			stack = stack[:len(stack)-1]
		}
	}
}

// accessible checks the page's structure for keyboard and screen-reader
// use: a language, one h1, every visible input labelled and described by
// existing elements, unique ids, buttons with text, a live region, no
// positive tabindex (focus follows the document order), forms that POST.
func accessible(t *testing.T, p *page, lang string) {
	t.Helper()
	ids := map[string]bool{}
	labels := map[string]bool{}
	var inputs, describedBy []string
	var h1, live int
	for n := range p.doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		if id := attr(n, "id"); id != "" {
			if ids[id] {
				t.Errorf("duplicate id %q", id)
			}
			ids[id] = true
		}
		if ti := attr(n, "tabindex"); ti != "" && ti != "0" && ti != "-1" {
			t.Errorf("<%s> has tabindex %s", n.Data, ti)
		}
		switch n.Data {
		case "html":
			if attr(n, "lang") != lang {
				t.Errorf("html lang %q, want %q", attr(n, "lang"), lang)
			}
		case "h1":
			h1++
		case "label":
			if attr(n, "for") == "" || strings.TrimSpace(textOf(n)) == "" {
				t.Errorf("label without for or text")
			}
			labels[attr(n, "for")] = true
		case "input":
			if typ := attr(n, "type"); typ != "hidden" {
				inputs = append(inputs, attr(n, "id"))
			}
			if d := attr(n, "aria-describedby"); d != "" {
				describedBy = append(describedBy, d)
			}
		case "button":
			if strings.TrimSpace(textOf(n)) == "" || attr(n, "type") != "submit" {
				t.Errorf("button without text or type")
			}
		case "form":
			if attr(n, "method") != "post" || strings.Contains(attr(n, "action"), "?") {
				t.Errorf("form %s %q", attr(n, "method"), attr(n, "action"))
			}
		case "nav":
			if attr(n, "aria-label") == "" {
				t.Error("nav without aria-label")
			}
		}
		if attr(n, "aria-live") != "" && attr(n, "aria-atomic") == "true" {
			live++
		}
	}
	if h1 != 1 || live != 1 {
		t.Errorf("%d h1, %d live regions; want 1 each", h1, live)
	}
	for _, id := range inputs {
		if id == "" || !labels[id] {
			t.Errorf("input %q has no label", id)
		}
	}
	for _, id := range describedBy {
		if !ids[id] {
			t.Errorf("aria-describedby %q names no element", id)
		}
	}
	// Nothing outside the kiosk is loaded or linked.
	if strings.Contains(p.body, "http://") || strings.Contains(p.body, "https://") || strings.Contains(p.body, "<script") {
		t.Error("the page refers to something outside the kiosk")
	}
}

func TestPagesWellFormedAccessibleAndTranslated(t *testing.T) {
	srv := newKiosk(t, &scripted{err: kiosk.ErrWrongCode}, nil)
	titles := map[string]string{"en": "Pick up a parcel", "de": "Paket abholen", "it": "Ritira un pacco", "pl": "Odbierz paczkę"}
	for _, lang := range kiosk.Languages {
		start := get(t, srv, "/"+lang+"/")
		if start.status != 200 {
			t.Fatalf("%s: %d", lang, start.status)
		}
		wellFormed(t, start.body)
		accessible(t, start, lang)
		if !strings.Contains(start.body, "<h1>"+titles[lang]+"</h1>") {
			t.Errorf("%s: title %q missing", lang, titles[lang])
		}
		if !strings.Contains(start.body, `aria-current="page">`) {
			t.Errorf("%s: the current language is not marked", lang)
		}
		for _, h := range []string{"Cache-Control", "Content-Security-Policy", "X-Frame-Options"} {
			if start.header.Get(h) == "" {
				t.Errorf("%s: no %s header", lang, h)
			}
		}
		// A failure page too.
		res := post(t, srv, "/"+lang+"/pin", url.Values{"token": {token(t, start)}, "pin": {"000000"}})
		wellFormed(t, res.body)
		accessible(t, res, lang)
		if attrOfStatus(res, "role") != "alert" {
			t.Errorf("%s: a failure is not announced as an alert", lang)
		}
	}
	// A success page.
	ok := newKiosk(t, okLocker{}, nil)
	start := get(t, ok, "/it/")
	res := post(t, ok, "/it/qr", url.Values{"token": {token(t, start)}, "qr": {"TOKEN"}})
	wellFormed(t, res.body)
	accessible(t, res, "it")
	if attrOfStatus(res, "role") != "status" || !strings.Contains(res.body, `href="/it/" autofocus`) {
		t.Error("success page: no polite status or no focused way back")
	}

	if p := get(t, srv, "/fr/"); p.status != 404 {
		t.Errorf("unknown language: %d", p.status)
	}
	if p := get(t, srv, "/"); p.status != 200 || !strings.Contains(p.body, `lang="en"`) {
		t.Errorf("root does not lead to the English page: %d", p.status)
	}
	css := get(t, srv, "/static/kiosk.css")
	if css.status != 200 || !strings.Contains(css.body, "min-height: 64px") {
		t.Errorf("stylesheet: %d", css.status)
	}
}

type okLocker struct{}

func (okLocker) PickupPIN(context.Context, string, string) (kiosk.Result, error) {
	return kiosk.Result{CompartmentLabel: "C3"}, nil
}
func (okLocker) PickupQR(context.Context, string) (kiosk.Result, error) {
	return kiosk.Result{CompartmentLabel: "C3"}, nil
}

func attrOfStatus(p *page, key string) string {
	for n := range p.doc.Descendants() {
		if n.Type == html.ElementNode && attr(n, "id") == "status" {
			return attr(n, key)
		}
	}
	return ""
}
