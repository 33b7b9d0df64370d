// Package qr renders QR codes server-side, as PNG for e-mail (inline, by
// content id) and as SVG for web pages. It renders whatever it is given;
// callers pass the signed pickup token (code.TokenSigner) and must treat
// the image like the token itself: a credential.
package qr

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strconv"
	"sync"

	qrcode "github.com/skip2/go-qrcode"
)

// Level is error correction level M (about 15 % of the symbol may be lost),
// a good balance for a phone screen or a printout held to a kiosk camera.
const level = qrcode.Medium

// DefaultPNGSize is the PNG edge in pixels used for e-mail.
const DefaultPNGSize = 256

// Bitmap returns the QR symbol of content, quiet zone included: true is a
// dark module.
func Bitmap(content string) ([][]bool, error) {
	q, err := qrcode.New(content, level)
	if err != nil {
		return nil, fmt.Errorf("qr: %w", err)
	}
	return q.Bitmap(), nil
}

// PNG renders content as a square PNG image at least size pixels wide
// (size <= 0 means DefaultPNGSize). Every module gets the same whole
// number of pixels, so the edge is rounded up to a multiple of the symbol
// size: modules of uneven width make scanners stumble.
//
// It draws the symbol itself, from one encoding, as a two-colour image:
// the library's own PNG encodes the symbol again (mask selection included)
// and compresses at the slowest level, which made a deposit notice's QR
// code the largest cost of sending it.
func PNG(content string, size int) ([]byte, error) {
	if size <= 0 {
		size = DefaultPNGSize
	}
	bm, err := Bitmap(content)
	if err != nil {
		return nil, err
	}
	n := len(bm)
	scale := (size + n - 1) / n
	img := image.NewPaletted(image.Rect(0, 0, n*scale, n*scale), color.Palette{color.White, color.Black})
	for y, row := range bm {
		line := img.Pix[y*scale*img.Stride : y*scale*img.Stride+n*scale]
		for x, dark := range row {
			if dark {
				for i := range scale {
					line[x*scale+i] = 1
				}
			}
		}
		for i := 1; i < scale; i++ {
			copy(img.Pix[(y*scale+i)*img.Stride:], line)
		}
	}
	var b bytes.Buffer
	if err := pngEncoder.Encode(&b, img); err != nil {
		return nil, fmt.Errorf("qr: %w", err)
	}
	return b.Bytes(), nil
}

// pngEncoder reuses its compressor between images: making a new one is a
// good part of encoding a small image.
var pngEncoder = &png.Encoder{CompressionLevel: png.BestSpeed, BufferPool: &encoderPool{}}

// encoderPool is a png.EncoderBufferPool safe for concurrent use.
type encoderPool struct{ p sync.Pool }

func (e *encoderPool) Get() *png.EncoderBuffer {
	b, _ := e.p.Get().(*png.EncoderBuffer)
	return b // nil makes the encoder allocate one
}

func (e *encoderPool) Put(b *png.EncoderBuffer) { e.p.Put(b) }

// SVG renders content as a scalable SVG image: one path of unit squares,
// crisp at any size, with the quiet zone and a white background.
// title labels it for screen readers.
func SVG(content, title string) ([]byte, error) {
	bm, err := Bitmap(content)
	if err != nil {
		return nil, err
	}
	n := strconv.Itoa(len(bm))
	var b bytes.Buffer
	b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ` + n + ` ` + n +
		`" shape-rendering="crispEdges" role="img" aria-label="`)
	escape(&b, title)
	b.WriteString(`"><title>`)
	escape(&b, title)
	b.WriteString(`</title><rect width="` + n + `" height="` + n + `" fill="#fff"/><path fill="#000" d="`)
	for y, row := range bm {
		for x := 0; x < len(row); x++ {
			if !row[x] {
				continue
			}
			// Merge a horizontal run of dark modules into one rectangle.
			run := 1
			for x+run < len(row) && row[x+run] {
				run++
			}
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", x, y, run, run)
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
