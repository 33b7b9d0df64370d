package code

import "testing"

func BenchmarkHash(b *testing.B) {
	k := fixedKeyring(b)
	for b.Loop() {
		if _, err := k.Hash("k1", "pickup|site_01jq7z3k5m8n9p2r4s6t8v0w1x", "123456"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTokenVerify(b *testing.B) {
	s, v := testSignerVerifier(b)
	tok := testToken(b)
	enc, err := s.Sign(tok)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := v.Verify(enc, tok.Audience, tokenNow); err != nil {
			b.Fatal(err)
		}
	}
}
