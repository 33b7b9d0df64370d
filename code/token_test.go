package code

import (
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"
)

var tokenNow = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

// testToken returns a valid token for site_1 around tokenNow.
func testToken(tb testing.TB) Token {
	tb.Helper()
	tok, err := NewToken("parcelguard", "site_01jq7z3k5m8n9p2r4s6t8v0w1x", "grt_01jq7z3k5m8n9p2r4s6t8v0w1y",
		"pickup", tokenNow.Add(-time.Hour), tokenNow.Add(72*time.Hour))
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// testSignerVerifier returns the signer of key k1 and a verifier of all keys
// of the fixed keyring.
func testSignerVerifier(tb testing.TB) (*TokenSigner, *TokenVerifier) {
	tb.Helper()
	k := fixedKeyring(tb)
	s, err := k.TokenSigner()
	if err != nil {
		tb.Fatal(err)
	}
	return s, NewTokenVerifier(k.PublicKeys())
}

func TestTokenRoundTrip(t *testing.T) {
	s, v := testSignerVerifier(t)
	want := testToken(t)
	enc, err := s.Sign(want)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("token: %d characters", len(enc))
	if len(enc) > 300 || strings.ToUpper(enc) != enc || strings.ContainsAny(enc, "=\n") {
		t.Errorf("token %q is not compact upper-case unpadded base32", enc)
	}
	got, err := v.Verify(enc, want.Audience, tokenNow)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("Verify = %+v, want %+v", got, want)
	}
	// Ed25519 is deterministic, so the encoding is a function of the token.
	again, _ := s.Sign(got)
	if again != enc {
		t.Error("re-signing the verified token gives another encoding")
	}
}

func TestNewTokenIDIsRandom(t *testing.T) {
	a, b := testToken(t), testToken(t)
	if a.ID == b.ID || a.ID == [16]byte{} {
		t.Error("token ids are not fresh random values")
	}
}

func TestTokenVerifyErrors(t *testing.T) {
	s, v := testSignerVerifier(t)
	tok := testToken(t)
	enc, err := s.Sign(tok)
	if err != nil {
		t.Fatal(err)
	}
	other, err := GenerateKeyring()
	if err != nil {
		t.Fatal(err)
	}
	otherSigner, _ := other.TokenSigner() // key id k1, but a different key
	forged, _ := otherSigner.Sign(tok)
	k9, _ := other.SigningKey("k1")
	unknown, _ := NewTokenSigner("k9", k9).Sign(tok)

	tests := []struct {
		name     string
		token    string
		audience string
		now      time.Time
		want     error
	}{
		{"expired at expiry", enc, tok.Audience, tok.Expiry, ErrTokenExpired},
		{"expired later", enc, tok.Audience, tok.Expiry.Add(time.Hour), ErrTokenExpired},
		{"not yet valid", enc, tok.Audience, tok.NotBefore.Add(-time.Nanosecond), ErrTokenNotYetValid},
		{"other locker", enc, "site_other", tokenNow, ErrTokenAudience},
		{"empty audience", enc, "", tokenNow, ErrTokenAudience},
		{"forged with same key id", forged, tok.Audience, tokenNow, ErrTokenSignature},
		{"unknown key id", unknown, tok.Audience, tokenNow, ErrTokenUnknownKey},
		{"unknown key id is a signature error", unknown, tok.Audience, tokenNow, ErrTokenSignature},
		{"empty", "", tok.Audience, tokenNow, ErrTokenMalformed},
		{"lower case", strings.ToLower(enc), tok.Audience, tokenNow, ErrTokenMalformed},
		{"padded", enc + "====", tok.Audience, tokenNow, ErrTokenMalformed},
		{"newline", enc[:10] + "\n" + enc[10:], tok.Audience, tokenNow, ErrTokenMalformed},
		{"truncated", enc[:len(enc)-8], tok.Audience, tokenNow, ErrTokenMalformed},
		{"trailing bytes", tokenEncoding.EncodeToString(append(mustDecode(t, enc), 0)), tok.Audience, tokenNow, ErrTokenMalformed},
		{"too long", strings.Repeat("A", maxTokenChars+1), tok.Audience, tokenNow, ErrTokenMalformed},
		{"garbage", "NOT-A-TOKEN", tok.Audience, tokenNow, ErrTokenMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := v.Verify(tt.token, tt.audience, tt.now)
			if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			if got != (Token{}) {
				t.Error("failed Verify returned a non-zero token")
			}
		})
	}
	// The window is [NotBefore, Expiry): both ends checked exactly.
	for _, now := range []time.Time{tok.NotBefore, tok.Expiry.Add(-time.Nanosecond)} {
		if _, err := v.Verify(enc, tok.Audience, now); err != nil {
			t.Errorf("at %v: %v", now, err)
		}
	}
}

func TestTokenByteFlips(t *testing.T) {
	s, v := testSignerVerifier(t)
	tok := testToken(t)
	enc, err := s.Sign(tok)
	if err != nil {
		t.Fatal(err)
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	for i := range len(enc) {
		// Replace with the next alphabet character (a 1-bit change for most
		// positions) and with a byte outside the alphabet.
		next := alphabet[(strings.IndexByte(alphabet, enc[i])+1)%len(alphabet)]
		for _, c := range []byte{next, enc[i] ^ 0x80} {
			b := []byte(enc)
			b[i] = c
			if _, err := v.Verify(string(b), tok.Audience, tokenNow); err == nil {
				t.Errorf("token with byte %d changed to %q still verifies", i, c)
			}
		}
	}
}

func TestSignRejects(t *testing.T) {
	s, _ := testSignerVerifier(t)
	long := strings.Repeat("x", MaxTokenField+1)
	tests := []struct {
		name   string
		mutate func(*Token)
	}{
		{"empty issuer", func(t *Token) { t.Issuer = "" }},
		{"empty audience", func(t *Token) { t.Audience = "" }},
		{"empty subject", func(t *Token) { t.Subject = "" }},
		{"empty purpose", func(t *Token) { t.Purpose = "" }},
		{"long subject", func(t *Token) { t.Subject = long }},
		{"expiry before not-before", func(t *Token) { t.Expiry = t.NotBefore.Add(-time.Second) }},
		{"expiry equals not-before", func(t *Token) { t.Expiry = t.NotBefore }},
		{"before 1970", func(t *Token) { t.NotBefore = time.Unix(-1, 0) }},
		{"after 9999", func(t *Token) { t.Expiry = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := testToken(t)
			tt.mutate(&tok)
			if _, err := s.Sign(tok); err == nil {
				t.Error("Sign accepted an invalid token")
			}
		})
	}
	bad := []*TokenSigner{
		NewTokenSigner("K1", ed25519.NewKeyFromSeed(make([]byte, 32))),
		NewTokenSigner("k1", nil),
	}
	for _, b := range bad {
		if _, err := b.Sign(testToken(t)); err == nil {
			t.Error("Sign accepted a bad key id or key")
		}
	}
}

func TestVerifierCopiesKeys(t *testing.T) {
	s, _ := testSignerVerifier(t)
	pubs := fixedKeyring(t).PublicKeys()
	v := NewTokenVerifier(pubs)
	delete(pubs, "k1")
	enc, _ := s.Sign(testToken(t))
	if _, err := v.Verify(enc, testToken(t).Audience, tokenNow); err != nil {
		t.Errorf("verifier changed with the caller's map: %v", err)
	}
}

func TestSigningKeyDeterministic(t *testing.T) {
	a, _ := fixedKeyring(t).SigningKey("k1")
	b, _ := fixedKeyring(t).SigningKey("k1")
	c, _ := fixedKeyring(t).SigningKey("k2")
	if !a.Equal(b) || a.Equal(c) {
		t.Error("signing keys are not a deterministic per-key derivation")
	}
	if _, err := fixedKeyring(t).SigningKey("k9"); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("err = %v, want ErrUnknownKey", err)
	}
}

func mustDecode(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := tokenEncoding.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
