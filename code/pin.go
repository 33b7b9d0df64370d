package code

import (
	"crypto/rand"
	"fmt"
	"math/big"
)

// pinSpace is the number of distinct 6-digit PINs.
var pinSpace = big.NewInt(1_000_000)

// GeneratePIN returns 6 decimal digits drawn uniformly from crypto/rand (no modulo bias).
func GeneratePIN() (string, error) {
	// rand.Int rejects out-of-range samples instead of reducing them modulo
	// the bound, so every PIN is equally likely (SECURITY.md 1).
	n, err := rand.Int(rand.Reader, pinSpace)
	if err != nil {
		return "", fmt.Errorf("generate pin: %w", err)
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}
