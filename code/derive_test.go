package code

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/sha256"
	"sync"
	"testing"
)

// The kept subkeys must be exactly what HKDF derives, under every key id,
// including one added by Rotate after the first use.
func TestSubkeysMatchDerivation(t *testing.T) {
	k := fixedKeyring(t)
	if _, err := k.TokenSigner(); err != nil { // first use of k1
		t.Fatal(err)
	}
	newID, err := k.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"k1", newID} {
		seed, err := hkdf.Key(sha256.New, mustKey(t, k, id), deriveSalt, labelToken, 32)
		if err != nil {
			t.Fatal(err)
		}
		got, err := k.SigningKey(id)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, ed25519.NewKeyFromSeed(seed)) {
			t.Errorf("signing key of %s differs from its HKDF derivation", id)
		}
		got[0] ^= 0xff // a caller's copy: changing it changes nothing kept
		again, _ := k.SigningKey(id)
		if bytes.Equal(got, again) {
			t.Errorf("SigningKey(%s) hands out the kept key itself", id)
		}
	}
	s, err := k.TokenSigner()
	if err != nil || s.keyID != newID {
		t.Fatalf("TokenSigner after Rotate signs under %v (%v), want %s", s, err, newID)
	}
}

// Concurrent first uses (run with -race) all seal and open under one key.
func TestSubkeysConcurrentFirstUse(t *testing.T) {
	k := fixedKeyring(t)
	var wg sync.WaitGroup
	sealed := make([][]byte, 16)
	for i := range sealed {
		wg.Go(func() {
			var err error
			if sealed[i], err = k.Seal("k1", []byte("g"), []byte("123456")); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for i, s := range sealed {
		if pt, err := k.Open("k1", []byte("g"), s); err != nil || string(pt) != "123456" {
			t.Errorf("seal %d opens to %q, %v", i, pt, err)
		}
	}
}
