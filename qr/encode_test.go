package qr

import (
	"math/rand/v2"
	"strings"
	"testing"

	"rsc.io/qr/coding"
)

// Ensure contents of every mode (numeric, alphanumeric, bytes) and of
// lengths from one to several hundred characters, spanning small and large
// versions, decode back exactly.
func TestPNGModesAndVersions(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabets := map[string]string{
		"numeric":      "0123456789",
		"alphanumeric": "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:",
		"bytes":        "abcdefghijklmnopqrstuvwxyz0123456789-_~?&=/:é€",
	}
	for name, alphabet := range alphabets {
		runes := []rune(alphabet)
		for _, n := range []int{1, 7, 20, 41, 77, 120, 180, 260, 400, 600} {
			var b strings.Builder
			for range n {
				b.WriteRune(runes[r.IntN(len(runes))])
			}
			content := b.String()
			p, err := PNG(content, 0)
			if err != nil {
				t.Fatalf("%s %d: %v", name, n, err)
			}
			if got, err := tryDecode(p); err != nil || got != content {
				t.Fatalf("%s %d: decoded %q (%v), want %q", name, n, got, err, content)
			}
		}
	}
}

// Ensure content beyond the largest QR symbol is an error, not a panic.
func TestTooLong(t *testing.T) {
	if _, err := PNG(strings.Repeat("x", 3000), 0); err == nil {
		t.Fatal("3000 bytes encoded")
	}
	if _, err := SVG(strings.Repeat("x", 3000), "t"); err == nil {
		t.Fatal("3000 bytes encoded as SVG")
	}
}

// Ensure the penalty score matches a literal reading of the standard's
// four rules on random symbols, dense and sparse, and on patterned ones.
func TestPenaltyMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 300 {
		n := 5 + r.IntN(30)
		s := &symbol{n: n, modules: make([]byte, n*n)}
		p := r.Float64()
		for j := range s.modules {
			if r.Float64() < p {
				s.modules[j] = 1
			}
		}
		if i%3 == 0 { // plant finder-like patterns
			for range 3 {
				y, x := r.IntN(n), r.IntN(max(1, n-6))
				for k, c := range []byte{1, 0, 1, 1, 1, 0, 1} {
					if x+k < n {
						s.modules[y*n+x+k] = c
					}
				}
			}
		}
		if got, want := penalty(s), referencePenalty(s); got != want {
			t.Fatalf("symbol %d (%d modules): penalty %d, reference %d", i, n, got, want)
		}
	}
}

// Ensure the mask chosen has the lowest score of the eight.
func TestEncodePicksLowestPenalty(t *testing.T) {
	best, err := encode(token)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := penalty(best), referencePenalty(best); got != want {
		t.Fatalf("penalty %d, reference %d", got, want)
	}
	for mask := range 8 {
		s := encodeMask(t, token, mask)
		if penalty(s) < penalty(best) {
			t.Fatalf("mask %d scores %d, below the chosen symbol's %d", mask, penalty(s), penalty(best))
		}
	}
}

// referencePenalty is ISO/IEC 18004 §7.8.3 written out plainly.
func referencePenalty(s *symbol) int {
	n := s.n
	get := func(x, y int) byte {
		if x < 0 || y < 0 || x >= n || y >= n {
			return 0 // the quiet zone is light
		}
		return s.modules[y*n+x]
	}
	score := 0
	lines := func(cell func(line, i int) byte) {
		for line := range n {
			for i := 0; i < n; {
				j := i
				for j < n && cell(line, j) == cell(line, i) {
					j++
				}
				if j-i >= 5 {
					score += 3 + (j - i - 5)
				}
				i = j
			}
			pattern := []byte{1, 0, 1, 1, 1, 0, 1}
			for i := 0; i+7 <= n; i++ {
				match := true
				for k, c := range pattern {
					match = match && cell(line, i+k) == c
				}
				lightBefore, lightAfter := true, true
				for k := 1; k <= 4; k++ {
					lightBefore = lightBefore && cell(line, i-k) == 0
					lightAfter = lightAfter && cell(line, i+6+k) == 0
				}
				if match && (lightBefore || lightAfter) {
					score += 40
				}
			}
		}
	}
	lines(func(y, x int) byte { return get(x, y) })
	lines(func(x, y int) byte { return get(x, y) })
	dark := 0
	for y := range n {
		for x := range n {
			dark += int(get(x, y))
			if x+1 < n && y+1 < n && get(x, y) == get(x+1, y) && get(x, y) == get(x, y+1) && get(x, y) == get(x+1, y+1) {
				score += 3
			}
		}
	}
	k := 0
	for pct := dark * 100 / (n * n); pct >= 55 || pct <= 45; {
		k++
		if pct >= 55 {
			pct -= 5
		} else {
			pct += 5
		}
	}
	return score + 10*k
}

// encodeMask encodes content with one given mask.
func encodeMask(t *testing.T, content string, mask int) *symbol {
	t.Helper()
	enc, v, err := fit(content)
	if err != nil {
		t.Fatal(err)
	}
	// The library's own encoding, as a reference for masked.
	p, err := coding.NewPlan(v, level, coding.Mask(mask))
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.Encode(enc)
	if err != nil {
		t.Fatal(err)
	}
	var b coding.Bits
	enc.Encode(&b, v)
	b.AddCheckBytes(v, level)
	s, err := masked(b.Bytes(), v, coding.Mask(mask))
	if err != nil {
		t.Fatal(err)
	}
	for y := range c.Size {
		for x := range c.Size {
			if want := c.Black(x, y); (s.modules[y*s.n+x] == 1) != want {
				t.Fatalf("mask %d: module (%d,%d) dark %v, want %v", mask, x, y, !want, want)
			}
		}
	}
	return s
}

// Ensure the word-at-a-time penalty equals the reference on random
// symbols of every size it takes, dense and sparse, with planted patterns
// near both edges.
func TestWordPenaltyMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for i := range 2000 {
		n := 5 + r.IntN(maxWordModules-4)
		s := &symbol{n: n, modules: make([]byte, n*n)}
		p := r.Float64()
		for j := range s.modules {
			if r.Float64() < p {
				s.modules[j] = 1
			}
		}
		if i%2 == 0 {
			for range 4 {
				y, x := r.IntN(n), r.IntN(max(1, n-6))
				if r.IntN(3) == 0 {
					x = max(0, n-7) // at the far edge
				}
				vertical := r.IntN(2) == 0
				for k, c := range []byte{1, 0, 1, 1, 1, 0, 1} {
					if x+k < n {
						if vertical {
							s.modules[(x+k)*n+y] = c
						} else {
							s.modules[y*n+x+k] = c
						}
					}
				}
			}
		}
		if got, want := newWordSymbol(s).penalty(), referencePenalty(s); got != want {
			t.Fatalf("symbol %d (%d modules): penalty %d, reference %d", i, n, got, want)
		}
	}
}

// Ensure the word-at-a-time layout lays out every version it takes, under
// every mask, exactly as the library's plan does.
func TestLayoutMatchesPlan(t *testing.T) {
	for length := 1; ; length += 7 {
		content := strings.Repeat("7QX", length)[:length]
		enc, v, err := fit(content)
		if err != nil {
			t.Fatal(err)
		}
		if 17+4*int(v) > maxWordModules {
			if v < 10 {
				t.Fatalf("version %d left the word layout", v)
			}
			return
		}
		l, err := layoutOf(v)
		if err != nil {
			t.Fatal(err)
		}
		var b coding.Bits
		enc.Encode(&b, v)
		b.AddCheckBytes(v, level)
		var data wordSymbol
		l.place(b.Bytes(), &data)
		for mask := range coding.Mask(8) {
			want := encodeMask(t, content, int(mask))
			var w wordSymbol
			l.symbol(&data, mask, &w)
			if got := w.bytes(); string(got.modules) != string(want.modules) {
				t.Fatalf("version %d mask %d: layout differs from the plan", v, mask)
			}
			if got, want := w.penalty(), penalty(want); got != want {
				t.Fatalf("version %d mask %d: penalty %d, want %d", v, mask, got, want)
			}
		}
	}
}
