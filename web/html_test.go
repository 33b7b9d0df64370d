package web

import (
	"fmt"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// voidElements never have an end tag.
var voidElements = map[string]bool{"area": true, "base": true, "br": true, "col": true, "embed": true, "hr": true,
	"img": true, "input": true, "link": true, "meta": true, "source": true, "track": true, "wbr": true}

// svgSelfClosing are the foreign elements our pages close themselves.
var svgSelfClosing = map[string]bool{"rect": true, "path": true}

// checkHTML reports structural defects of a page: an unbalanced or stray
// tag, a duplicate id, a form control without a label, a label pointing
// nowhere, a missing lang or title. It is the Go-side half of the page
// checks; the browser tests add html-validate and axe-core.
func checkHTML(doc string) []string {
	var problems []string
	z := html.NewTokenizer(strings.NewReader(doc))
	var stack []string
	ids := map[string]bool{}
	labelFor := map[string]bool{}
	type control struct{ id, desc string }
	var controls []control
	labelDepth := 0
	hasLang, hasTitle := false, false
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		tok := z.Token()
		attr := func(name string) (string, bool) {
			for _, a := range tok.Attr {
				if a.Key == name {
					return a.Val, true
				}
			}
			return "", false
		}
		switch tt {
		case html.StartTagToken, html.SelfClosingTagToken:
			if id, ok := attr("id"); ok {
				if ids[id] {
					problems = append(problems, "duplicate id "+id)
				}
				ids[id] = true
			}
			switch tok.Data {
			case "html":
				_, hasLang = attr("lang")
			case "title":
				hasTitle = true
			case "label":
				if f, ok := attr("for"); ok {
					labelFor[f] = true
				}
			case "input", "select", "textarea":
				typ, _ := attr("type")
				if typ == "hidden" || typ == "submit" {
					break
				}
				_, aria := attr("aria-label")
				_, labelledby := attr("aria-labelledby")
				if aria || labelledby || labelDepth > 0 {
					break
				}
				id, _ := attr("id")
				name, _ := attr("name")
				controls = append(controls, control{id, fmt.Sprintf("<%s name=%q id=%q>", tok.Data, name, id)})
			}
			if tt == html.SelfClosingTagToken || voidElements[tok.Data] {
				if tt == html.SelfClosingTagToken && !voidElements[tok.Data] && !svgSelfClosing[tok.Data] {
					problems = append(problems, "self-closing non-void <"+tok.Data+"/>")
				}
				continue
			}
			if tok.Data == "label" {
				labelDepth++
			}
			stack = append(stack, tok.Data)
		case html.EndTagToken:
			if voidElements[tok.Data] {
				problems = append(problems, "end tag of void element </"+tok.Data+">")
				continue
			}
			if len(stack) == 0 || stack[len(stack)-1] != tok.Data {
				problems = append(problems, fmt.Sprintf("unexpected </%s>, open: %v", tok.Data, stack))
				continue
			}
			if tok.Data == "label" {
				labelDepth--
			}
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) > 0 {
		problems = append(problems, fmt.Sprintf("unclosed elements %v", stack))
	}
	for _, c := range controls {
		if c.id == "" || !labelFor[c.id] {
			problems = append(problems, "control without a label: "+c.desc)
		}
	}
	for f := range labelFor {
		if !ids[f] {
			problems = append(problems, "label for missing id "+f)
		}
	}
	if !hasLang {
		problems = append(problems, "<html> without lang")
	}
	if !hasTitle {
		problems = append(problems, "no <title>")
	}
	return problems
}

// Ensure the checker itself catches what it claims to (a checker that
// cannot fail would make every page test pass).
func TestCheckHTMLFindsDefects(t *testing.T) {
	for name, doc := range map[string]string{
		"unlabelled":    `<html lang="en"><head><title>x</title></head><body><input name="q" id="q"></body></html>`,
		"unbalanced":    `<html lang="en"><head><title>x</title></head><body><div><p>a</div></body></html>`,
		"duplicate id":  `<html lang="en"><head><title>x</title></head><body><p id="a"></p><p id="a"></p></body></html>`,
		"no lang":       `<html><head><title>x</title></head><body></body></html>`,
		"label nowhere": `<html lang="en"><head><title>x</title></head><body><label for="z">Z</label></body></html>`,
	} {
		if len(checkHTML(doc)) == 0 {
			t.Errorf("%s: no problem found in %s", name, doc)
		}
	}
	ok := `<html lang="en"><head><title>x</title></head><body><label for="q">Q</label><input name="q" id="q">` +
		`<label>P <input name="p" type="password"></label><input type="hidden" name="csrf"></body></html>`
	if p := checkHTML(ok); len(p) != 0 {
		t.Errorf("problems in a good page: %v", p)
	}
}
