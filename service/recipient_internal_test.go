package service

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// FuzzRecipientToken feeds arbitrary strings to the recipient-link parser.
// Ensure it never panics, and that whatever it accepts re-encodes to the
// very same string: a token has exactly one encoding.
func FuzzRecipientToken(f *testing.F) {
	valid := &recipientToken{keyID: "k1", expiry: time.Unix(1800000000, 0).UTC(), parcelID: "par_01jabcdefghjkmnpqrstvwxyz0",
		tag: bytes.Repeat([]byte{7}, recipientTagSize)}
	for i := range valid.linkID {
		valid.linkID[i] = byte(i)
	}
	for _, seed := range []string{
		valid.encode(), "", "pgr_", "pgr_0", "pgk_abc", "pgr_" + strings.Repeat("z", 400),
		strings.TrimSuffix(valid.encode(), "0") + "1", valid.encode() + "0", strings.ToUpper(valid.encode()),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := parseRecipientToken(s)
		if err != nil {
			return
		}
		if got := tok.encode(); got != s {
			t.Fatalf("accepted %q but it encodes as %q", s, got)
		}
		if tok.parcelID == "" || tok.keyID == "" || len(tok.tag) != recipientTagSize {
			t.Fatalf("accepted incomplete token %+v", tok)
		}
	})
}
