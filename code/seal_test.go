package code

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

func TestSealRoundTrip(t *testing.T) {
	k := fixedKeyring(t)
	for _, pt := range []string{"", "123456", "a longer plaintext that spans several AES blocks"} {
		sealed, err := k.Seal("k1", []byte("grant_1"), []byte(pt))
		if err != nil {
			t.Fatal(err)
		}
		if sealed[0] != sealVersion || len(sealed) != 1+12+len(pt)+16 {
			t.Errorf("sealed %d bytes, version %d; want %d bytes, version %d", len(sealed), sealed[0], 1+12+len(pt)+16, sealVersion)
		}
		if pt != "" && bytes.Contains(sealed, []byte(pt)) {
			t.Errorf("plaintext %q appears in the sealed bytes", pt)
		}
		got, err := k.Open("k1", []byte("grant_1"), sealed)
		if err != nil || string(got) != pt {
			t.Errorf("Open = %q, %v; want %q", got, err, pt)
		}
	}
}

func TestSealNonceIsFresh(t *testing.T) {
	k := fixedKeyring(t)
	a, _ := k.Seal("k1", nil, []byte("123456"))
	b, _ := k.Seal("k1", nil, []byte("123456"))
	if bytes.Equal(a, b) {
		t.Error("two seals of the same plaintext are equal: nonce reused")
	}
}

func TestOpenFails(t *testing.T) {
	k := fixedKeyring(t)
	aad := []byte("grant_1")
	sealed, err := k.Seal("k1", aad, []byte("123456"))
	if err != nil {
		t.Fatal(err)
	}
	type openCase struct {
		name   string
		keyID  string
		aad    []byte
		sealed func() []byte
		want   error
	}
	tests := []openCase{
		{"wrong aad", "k1", []byte("grant_2"), func() []byte { return sealed }, ErrOpen},
		{"no aad", "k1", nil, func() []byte { return sealed }, ErrOpen},
		{"wrong key", "k2", aad, func() []byte { return sealed }, ErrOpen},
		{"unknown key", "k9", aad, func() []byte { return sealed }, ErrUnknownKey},
		{"truncated", "k1", aad, func() []byte { return sealed[:len(sealed)-1] }, ErrOpen},
		{"too short", "k1", aad, func() []byte { return sealed[:20] }, ErrOpen},
		{"empty", "k1", aad, func() []byte { return nil }, ErrOpen},
	}
	for i := range sealed {
		tests = append(tests, openCase{fmt.Sprintf("tampered byte %d", i), "k1", aad, func() []byte {
			b := bytes.Clone(sealed)
			b[i] ^= 0x01
			return b
		}, ErrOpen})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pt, err := k.Open(tt.keyID, tt.aad, tt.sealed())
			if !errors.Is(err, tt.want) || pt != nil {
				t.Errorf("Open = %q, %v; want error %v", pt, err, tt.want)
			}
		})
	}
}

func TestSealKeyDiffersFromHashKey(t *testing.T) {
	k := fixedKeyring(t)
	sub, err := k.derive("k1", labelSeal)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := k.derive("k1", labelToken)
	if bytes.Equal(sub, mustKey(t, k, "k1")) || bytes.Equal(sub, tok) {
		t.Error("seal subkey equals the raw key or the token subkey")
	}
}
