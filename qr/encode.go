package qr

import (
	"errors"
	"fmt"
	"sync"

	"rsc.io/qr/coding"
)

// level is error correction level M (about 15 % of the symbol may be
// lost), a good balance for a phone screen or a printout held to a kiosk
// camera.
const level = coding.M

// quietZone is the light margin around the symbol, in modules, that the
// QR standard requires.
const quietZone = 4

// symbol is an encoded QR symbol without its quiet zone: n×n modules, row
// by row, 1 for dark.
type symbol struct {
	n       int
	modules []byte
}

func (s *symbol) row(y int) []byte { return s.modules[y*s.n : (y+1)*s.n] }

// encode encodes content in the densest single mode that holds it
// (numeric, alphanumeric, bytes) at the smallest version that fits, and
// picks the data mask with the lowest penalty score, as the standard asks
// of an encoder.
//
// rsc.io/qr/coding does the data, Reed–Solomon and layout with tables, so
// a symbol costs far less than with github.com/skip2/go-qrcode, whose
// polynomial arithmetic and mask scoring made the QR code the largest cost
// of sending a deposit notice.
func encode(content string) (*symbol, error) {
	enc, v, err := fit(content)
	if err != nil {
		return nil, err
	}
	var b coding.Bits
	enc.Encode(&b, v)
	b.AddCheckBytes(v, level)
	codewords := b.Bytes()
	if 17+4*int(v) <= maxWordModules {
		l, err := layoutOf(v)
		if err != nil {
			return nil, err
		}
		var data, w, best wordSymbol
		l.place(codewords, &data)
		bestScore := -1
		for mask := range coding.Mask(8) {
			l.symbol(&data, mask, &w)
			if score := w.penalty(); bestScore < 0 || score < bestScore {
				best, bestScore = w, score
			}
		}
		return best.bytes(), nil
	}
	var best *symbol
	bestScore := 0
	for mask := range coding.Mask(8) {
		s, err := masked(codewords, v, mask)
		if err != nil {
			return nil, err
		}
		if score := penalty(s); best == nil || score < bestScore {
			best, bestScore = s, score
		}
	}
	return best, nil
}

// fit picks the densest single mode that holds content and the smallest
// version that holds it at level M.
func fit(content string) (coding.Encoding, coding.Version, error) {
	var enc coding.Encoding
	switch {
	case coding.Num(content).Check() == nil:
		enc = coding.Num(content)
	case coding.Alpha(content).Check() == nil:
		enc = coding.Alpha(content)
	default:
		enc = coding.String(content)
	}
	v := coding.Version(coding.MinVersion)
	for ; enc.Bits(v) > v.DataBytes(level)*8; v++ {
		if v == coding.MaxVersion {
			return nil, 0, errors.New("qr: content too long for a QR code")
		}
	}
	return enc, v, nil
}

// masked lays out the data and check codewords at version v with the
// given data mask. It does what coding.Plan.Encode does, but from
// codewords computed once for all eight masks, and into one byte a module.
func masked(codewords []byte, v coding.Version, mask coding.Mask) (*symbol, error) {
	p, err := plan(v, mask)
	if err != nil {
		return nil, fmt.Errorf("qr: %w", err)
	}
	n := len(p.Pixel)
	s := &symbol{n: n, modules: make([]byte, n*n)}
	for y, pixels := range p.Pixel {
		row := s.row(y)
		for x, pix := range pixels {
			c := byte(pix & coding.Black)
			if r := pix.Role(); r == coding.Data || r == coding.Check {
				o := pix.Offset()
				c ^= codewords[o>>3] >> (7 - o&7) & 1
			}
			row[x] = c
		}
	}
	return s, nil
}

// plans caches the layout of each version and mask (at level M), which
// takes longer to build than a symbol takes to fill. A Plan is only read
// by Encode, so one may serve concurrent encodings.
var plans [coding.MaxVersion + 1][8]struct {
	once sync.Once
	p    *coding.Plan
	err  error
}

func plan(v coding.Version, mask coding.Mask) (*coding.Plan, error) {
	e := &plans[v][mask]
	e.once.Do(func() { e.p, e.err = coding.NewPlan(v, level, mask) })
	return e.p, e.err
}

// penalty scores a masked symbol by the four rules of ISO/IEC 18004
// §7.8.3: runs of five or more like modules in a row or column, 2×2 blocks
// of one colour, finder-like 1:1:3:1:1 patterns beside four light modules
// (the quiet zone counts as light), and an unbalanced share of dark
// modules. The lowest score reads best.
func penalty(s *symbol) int {
	n, m := s.n, s.modules
	score, dark := 0, 0
	column := make([]byte, n)
	for i := range n {
		row := s.row(i)
		score += linePenalty(row)
		for y := range column {
			column[y] = m[y*n+i]
		}
		score += linePenalty(column)
		for _, c := range row {
			dark += int(c)
		}
	}
	for y := range n - 1 {
		r0, r1 := s.row(y), s.row(y+1)
		for x := range n - 1 {
			c := r0[x]
			if c == r0[x+1] && c == r1[x] && c == r1[x+1] {
				score += 3
			}
		}
	}
	// Ten points for every whole five percent away from half dark.
	dev := dark*100/(n*n) - 50
	if dev < 0 {
		dev = -dev
	}
	return score + dev/5*10
}

// linePenalty scores one row or column by rules 1 and 3: three points for
// a run of five like modules and one for each further module, forty for
// each 1:1:3:1:1 pattern with four light modules before or after it.
func linePenalty(line []byte) int {
	score, run := 0, 0
	prev := byte(2)
	// window holds the last 15 modules, the newest lowest: four before a
	// pattern, the pattern, four after. It starts in the quiet zone.
	var window uint16
	for _, c := range line {
		window = window<<1&0x7fff | uint16(c)
		if window>>4&0x7f == 0b1011101 && (window>>11 == 0 || window&0xf == 0) {
			score += 40
		}
		if c == prev {
			run++
			continue
		}
		if run >= 5 {
			score += run - 2
		}
		run, prev = 1, c
	}
	if run >= 5 {
		score += run - 2
	}
	for range quietZone {
		window = window << 1 & 0x7fff
		if window>>4&0x7f == 0b1011101 && (window>>11 == 0 || window&0xf == 0) {
			score += 40
		}
	}
	return score
}
