package code

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"
)

// chiSquareCritical is the chi-square value with 9 degrees of freedom that a
// uniform source exceeds with probability 1e-6, so the test is practically
// never flaky while a real bias of a few percent shows up at once.
const chiSquareCritical = 44.81

// pinDraws is large enough that a bias of 2% per digit gives a chi-square
// far above the critical value.
const pinDraws = 200_000

// digitChiSquare returns the chi-square statistic of the digit counts
// against a uniform distribution.
func digitChiSquare(counts [10]int) float64 {
	total := 0
	for _, c := range counts {
		total += c
	}
	want := float64(total) / 10
	var chi float64
	for _, c := range counts {
		d := float64(c) - want
		chi += d * d / want
	}
	return chi
}

// positionChiSquares draws n PINs and returns the chi-square of the digit
// distribution at each of the 6 positions.
func positionChiSquares(t *testing.T, n int, gen func() (string, error)) [6]float64 {
	t.Helper()
	var counts [6][10]int
	for range n {
		pin, err := gen()
		if err != nil {
			t.Fatal(err)
		}
		if len(pin) != 6 {
			t.Fatalf("pin %q: want 6 digits", pin)
		}
		for i := range 6 {
			c := pin[i]
			if c < '0' || c > '9' {
				t.Fatalf("pin %q: non-digit at %d", pin, i)
			}
			counts[i][c-'0']++
		}
	}
	var chi [6]float64
	for i := range counts {
		chi[i] = digitChiSquare(counts[i])
	}
	return chi
}

func TestGeneratePINUniform(t *testing.T) {
	// Six tests at p=1e-6 each: a false alarm once in ~170,000 runs.
	for i, chi := range positionChiSquares(t, pinDraws, GeneratePIN) {
		if chi > chiSquareCritical {
			t.Errorf("digit %d: chi-square %.1f > %.2f: distribution is not uniform", i, chi, chiSquareCritical)
		}
	}
}

// TestChiSquareCatchesModuloBias proves the test above has teeth: the
// classic mistakes, reducing random bytes modulo the range, fail it. The
// biased sources are seeded, so this test is deterministic.
func TestChiSquareCatchesModuloBias(t *testing.T) {
	tests := []struct {
		name string
		gen  func(r *rand.ChaCha8) string
	}{
		{"24 bits mod 1e6", func(r *rand.ChaCha8) string {
			var b [4]byte
			r.Read(b[1:])
			return fmt.Sprintf("%06d", binary.BigEndian.Uint32(b[:])%1_000_000)
		}},
		{"byte mod 10 per digit", func(r *rand.ChaCha8) string {
			var b [6]byte
			r.Read(b[:])
			for i := range b {
				b[i] = '0' + b[i]%10
			}
			return string(b[:])
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rand.NewChaCha8([32]byte{1})
			chi := positionChiSquares(t, pinDraws, func() (string, error) { return tt.gen(r), nil })
			if chi[0] <= chiSquareCritical {
				t.Errorf("first digit chi-square %.1f <= %.2f: the uniformity test would miss this bias", chi[0], chiSquareCritical)
			}
		})
	}
}
