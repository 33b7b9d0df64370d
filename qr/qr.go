// Package qr renders QR codes server-side, as PNG for e-mail (inline, by
// content id) and as SVG for web pages. It renders whatever it is given;
// callers pass the signed pickup token (code.TokenSigner) and must treat
// the image like the token itself: a credential.
package qr

import (
	"bytes"
	"fmt"
	"strconv"
)

// DefaultPNGSize is the PNG edge in pixels used for e-mail.
const DefaultPNGSize = 256

// Bitmap returns the QR symbol of content, quiet zone included: true is a
// dark module.
func Bitmap(content string) ([][]bool, error) {
	s, err := encode(content)
	if err != nil {
		return nil, err
	}
	n := s.n + 2*quietZone
	out := make([][]bool, n)
	cells := make([]bool, n*n)
	for y := range out {
		out[y], cells = cells[:n:n], cells[n:]
	}
	for y := range s.n {
		row := out[y+quietZone][quietZone:]
		for x, c := range s.row(y) {
			row[x] = c == 1
		}
	}
	return out, nil
}

// SVG renders content as a scalable SVG image: one path of unit squares,
// crisp at any size, with the quiet zone and a white background.
// title labels it for screen readers.
func SVG(content, title string) ([]byte, error) {
	s, err := encode(content)
	if err != nil {
		return nil, err
	}
	n := strconv.Itoa(s.n + 2*quietZone)
	var b bytes.Buffer
	b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ` + n + ` ` + n +
		`" shape-rendering="crispEdges" role="img" aria-label="`)
	escape(&b, title)
	b.WriteString(`"><title>`)
	escape(&b, title)
	b.WriteString(`</title><rect width="` + n + `" height="` + n + `" fill="#fff"/><path fill="#000" d="`)
	for y := range s.n {
		row := s.row(y)
		for x := 0; x < len(row); x++ {
			if row[x] == 0 {
				continue
			}
			// Merge a horizontal run of dark modules into one rectangle.
			run := 1
			for x+run < len(row) && row[x+run] == 1 {
				run++
			}
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", x+quietZone, y+quietZone, run, run)
			x += run - 1
		}
	}
	b.WriteString(`"/></svg>`)
	return b.Bytes(), nil
}

// escape writes s with the XML special characters escaped.
func escape(b *bytes.Buffer, s string) {
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '"':
			b.WriteString("&quot;")
		case '\'':
			b.WriteString("&#39;")
		default:
			b.WriteRune(r)
		}
	}
}
