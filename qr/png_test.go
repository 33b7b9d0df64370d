package qr

import (
	"bytes"
	"image/png"
	"sync"
	"testing"
)

// Ensure every pixel of the PNG is its module's colour: dark modules black,
// light ones (and the quiet zone) white, each module an equal square.
func TestPNGPixelsAreTheModules(t *testing.T) {
	for _, size := range []int{0, 1, 100, 257, 600} {
		b, err := PNG(token, size)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		bm, err := Bitmap(token)
		if err != nil {
			t.Fatal(err)
		}
		edge := img.Bounds().Dx()
		if edge%len(bm) != 0 || edge < max(size, 1) || (size <= 0 && edge < DefaultPNGSize) {
			t.Fatalf("size %d: edge %d for %d modules", size, edge, len(bm))
		}
		scale := edge / len(bm)
		for y := range edge {
			for x := range edge {
				r, g, bl, _ := img.At(x, y).RGBA()
				dark := bm[y/scale][x/scale]
				if black := r == 0 && g == 0 && bl == 0; black != dark || (!dark && (r != 0xffff || g != 0xffff || bl != 0xffff)) {
					t.Fatalf("size %d: pixel (%d,%d) is %v,%v,%v; module dark %v", size, x, y, r, g, bl, dark)
				}
			}
		}
	}
}

// Ensure concurrent renderings, which share the encoder's buffers, each
// decode to their own content.
func TestPNGConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			content := token[:40+i*5]
			for range 3 {
				b, err := PNG(content, 0)
				if err != nil {
					t.Error(err)
					return
				}
				if got, err := tryDecode(b); err != nil || got != content {
					t.Errorf("decoded %q (%v), want %q", got, err, content)
					return
				}
			}
		})
	}
	wg.Wait()
}

// BenchmarkPNG measures rendering a pickup token's QR code for e-mail,
// which every deposit notice and reminder does.
func BenchmarkPNG(b *testing.B) {
	for b.Loop() {
		if _, err := PNG(token, DefaultPNGSize); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPNGLong measures a token of the length the service signs
// (about 110 bytes of body and signature, base32).
func BenchmarkPNGLong(b *testing.B) {
	long := token + token[:76]
	for b.Loop() {
		if _, err := PNG(long, DefaultPNGSize); err != nil {
			b.Fatal(err)
		}
	}
}
