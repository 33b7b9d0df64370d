package code

import (
	"bytes"
	"errors"
	"testing"
)

func TestHash(t *testing.T) {
	k := fixedKeyring(t)
	hash := func(keyID, scope, secret string) []byte {
		t.Helper()
		h, err := k.Hash(keyID, scope, secret)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	base := hash("k1", "pickup|site_1", "123456")
	if len(base) != 32 {
		t.Fatalf("hash length %d, want 32", len(base))
	}
	if !Equal(base, hash("k1", "pickup|site_1", "123456")) {
		t.Error("hash is not deterministic")
	}
	tests := []struct {
		name                 string
		keyID, scope, secret string
	}{
		{"other key", "k2", "pickup|site_1", "123456"},
		{"other site", "k1", "pickup|site_2", "123456"},
		{"other purpose", "k1", "deposit|site_1", "123456"},
		{"other secret", "k1", "pickup|site_1", "123457"},
		{"boundary moved left", "k1", "pickup|site_", "1123456"},
		{"boundary moved right", "k1", "pickup|site_11", "23456"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if Equal(base, hash(tt.keyID, tt.scope, tt.secret)) {
				t.Error("hash collides with the base case")
			}
		})
	}
}

func TestHashLengthPrefix(t *testing.T) {
	k := fixedKeyring(t)
	a, _ := k.Hash("k1", "a", "bc")
	b, _ := k.Hash("k1", "ab", "c")
	if Equal(a, b) {
		t.Error(`Hash("a","bc") == Hash("ab","c"): fields are not length-prefixed`)
	}
}

func TestHashUnknownKey(t *testing.T) {
	if _, err := fixedKeyring(t).Hash("k9", "s", "x"); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("err = %v, want ErrUnknownKey", err)
	}
}

func TestHashAllAfterRotate(t *testing.T) {
	k, err := GenerateKeyring()
	if err != nil {
		t.Fatal(err)
	}
	old, err := k.Hash(k.CurrentID(), "pickup|site_1", "424242")
	if err != nil {
		t.Fatal(err)
	}
	newID, err := k.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	if newID != "k2" || k.CurrentID() != "k2" {
		t.Fatalf("Rotate = %q, current %q; want k2", newID, k.CurrentID())
	}
	ids, hashes := k.HashAll("pickup|site_1", "424242")
	if len(ids) != 2 || len(hashes) != 2 || ids[0] != "k2" || ids[1] != "k1" {
		t.Fatalf("ids = %v, want [k2 k1]", ids)
	}
	if !Equal(hashes[1], old) {
		t.Error("HashAll does not find the hash made under the old key")
	}
	cur, _ := k.Hash("k2", "pickup|site_1", "424242")
	if !Equal(hashes[0], cur) || Equal(cur, old) {
		t.Error("current-key hash is missing or equals the old one")
	}
}

func TestNewKeyringValidation(t *testing.T) {
	key := bytes.Repeat([]byte{1}, 32)
	tests := []struct {
		name    string
		current string
		keys    map[string][]byte
	}{
		{"no keys", "k1", nil},
		{"short key", "k1", map[string][]byte{"k1": key[:31]}},
		{"current missing", "k2", map[string][]byte{"k1": key}},
		{"upper case id", "K1", map[string][]byte{"K1": key}},
		{"empty id", "", map[string][]byte{"": key}},
		{"id too long", "k12345678901234567", map[string][]byte{"k12345678901234567": key}},
		{"punctuation", "k-1", map[string][]byte{"k-1": key}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewKeyring(tt.current, tt.keys); err == nil {
				t.Error("NewKeyring accepted invalid input")
			}
		})
	}
	// The keyring copies keys, so the caller's slice cannot change them.
	k, err := NewKeyring("k1", map[string][]byte{"k1": key})
	if err != nil {
		t.Fatal(err)
	}
	key[0] = 99
	if mustKey(t, k, "k1")[0] != 1 {
		t.Error("keyring shares the caller's key slice")
	}
}
