package qr

import (
	"fmt"
	"math/bits"
	"sync"

	"rsc.io/qr/coding"
)

// maxWordModules is the largest symbol edge whose rows fit one machine
// word with room for the checks past the edge (version 10, 57 modules, is
// what a pickup token needs).
const maxWordModules = 60

// wordSymbol is a symbol of at most maxWordModules modules a side as bit
// rows and bit columns: bit x of rows[y] (and bit y of cols[x]) is the
// module at (x, y), 1 for dark.
type wordSymbol struct {
	n          int
	rows, cols [maxWordModules]uint64
}

func newWordSymbol(s *symbol) *wordSymbol {
	w := &wordSymbol{n: s.n}
	for y := range s.n {
		for x, c := range s.row(y) {
			w.rows[y] |= uint64(c) << x
			w.cols[x] |= uint64(c) << y
		}
	}
	return w
}

// penalty is penalty (the same four rules, the same score) computed a
// whole line at a time with bit operations.
func (w *wordSymbol) penalty() int {
	n := w.n
	score, dark := 0, 0
	for i := range n {
		score += wordLinePenalty(w.rows[i], n) + wordLinePenalty(w.cols[i], n)
		dark += bits.OnesCount64(w.rows[i])
	}
	// 2×2 blocks: modules x and x+1 alike in a row, and both alike in the
	// next row.
	pairs := uint64(1)<<(n-1) - 1
	for y := range n - 1 {
		a, b := w.rows[y], w.rows[y+1]
		sameH := ^(a ^ a>>1)
		sameV := ^(a ^ b)
		score += 3 * bits.OnesCount64(sameH&sameV&(sameV>>1)&pairs)
	}
	dev := dark*100/(n*n) - 50
	if dev < 0 {
		dev = -dev
	}
	return score + dev/5*10
}

// wordLinePenalty scores one line of n modules (bit x is module x) by
// rules 1 and 3, as linePenalty does.
func wordLinePenalty(a uint64, n int) int {
	// Rule 1: run5 has bit x when modules x..x+4 are alike. A run of
	// length L >= 5 sets L-4 of them and scores L-2: two more per run.
	same := ^(a ^ a>>1) & (uint64(1)<<(n-1) - 1)
	run5 := same & (same >> 1) & (same >> 2) & (same >> 3)
	score := bits.OnesCount64(run5) + 2*bits.OnesCount64(run5&^(run5<<1))

	// Rule 3: a 1:1:3:1:1 pattern starting at x, with four light modules
	// before it (the quiet zone counts) or after it (past the edge, bits
	// are 0, which reads as light: n <= 60 leaves room).
	pattern := a & ^(a >> 1) & (a >> 2) & (a >> 3) & (a >> 4) & ^(a >> 5) & (a >> 6)
	light := ^a
	before := (light<<1 | 1) & (light<<2 | 3) & (light<<3 | 7) & (light<<4 | 15)
	after := (light >> 7) & (light >> 8) & (light >> 9) & (light >> 10)
	return score + 40*bits.OnesCount64(pattern&(before|after))
}

// layout is where a version's modules go, for symbols that fit words:
// the fixed modules under each mask (data modules as the mask leaves
// them), and the data and check modules with the bit each carries.
type layout struct {
	base [8]wordSymbol
	data []dataModule
}

type dataModule struct {
	x, y uint8
	bit  uint16 // offset into the codewords, in bits
}

// layouts caches the layout of each version that fits words.
var layouts [coding.MaxVersion + 1]struct {
	once sync.Once
	l    *layout
	err  error
}

func layoutOf(v coding.Version) (*layout, error) {
	e := &layouts[v]
	e.once.Do(func() {
		l := &layout{}
		for mask := range coding.Mask(8) {
			p, err := plan(v, mask)
			if err != nil {
				e.err = fmt.Errorf("qr: %w", err)
				return
			}
			w := &l.base[mask]
			w.n = len(p.Pixel)
			for y, pixels := range p.Pixel {
				for x, pix := range pixels {
					if pix&coding.Black != 0 {
						w.rows[y] |= 1 << x
						w.cols[x] |= 1 << y
					}
					if r := pix.Role(); mask == 0 && (r == coding.Data || r == coding.Check) {
						l.data = append(l.data, dataModule{x: uint8(x), y: uint8(y), bit: uint16(pix.Offset())})
					}
				}
			}
		}
		e.l = l
	})
	return e.l, e.err
}

// place sets in w the data and check modules that carry a 1 in
// codewords, and nothing else; the same for every mask.
func (l *layout) place(codewords []byte, w *wordSymbol) {
	*w = wordSymbol{n: l.base[0].n}
	for _, d := range l.data {
		if codewords[d.bit>>3]>>(7-d.bit&7)&1 != 0 {
			w.rows[d.y] |= 1 << d.x
			w.cols[d.x] |= 1 << d.y
		}
	}
}

// symbol sets w to the symbol whose placed data is data, under mask: a
// data module is dark when its bit and the mask disagree, which the base
// already says for a 0 bit.
func (l *layout) symbol(data *wordSymbol, mask coding.Mask, w *wordSymbol) {
	base := &l.base[mask]
	w.n = base.n
	for i := range base.n {
		w.rows[i] = base.rows[i] ^ data.rows[i]
		w.cols[i] = base.cols[i] ^ data.cols[i]
	}
}

// bytes returns w one byte a module.
func (w *wordSymbol) bytes() *symbol {
	s := &symbol{n: w.n, modules: make([]byte, w.n*w.n)}
	for y := range w.n {
		row := s.row(y)
		for x := range row {
			row[x] = byte(w.rows[y] >> x & 1)
		}
	}
	return s
}
