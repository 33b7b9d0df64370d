package code

import (
	"bytes"
	"testing"
)

func FuzzTokenVerify(f *testing.F) {
	s, v := testSignerVerifier(f)
	tok := testToken(f)
	enc, err := s.Sign(tok)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(enc, tok.Audience)
	f.Add(enc[:len(enc)-1], tok.Audience)
	f.Add(enc, "site_other")
	f.Add("", "")
	f.Add("AE", "x")
	f.Fuzz(func(t *testing.T, in, audience string) {
		got, err := v.Verify(in, audience, tokenNow)
		if err != nil {
			return
		}
		// A token that verifies has exactly one encoding: ours.
		again, err := s.Sign(got)
		if err != nil {
			t.Fatalf("verified token %+v does not re-sign: %v", got, err)
		}
		if again != in {
			t.Fatalf("verified %q re-encodes as %q", in, again)
		}
	})
}

func FuzzKeyringLoad(f *testing.F) {
	valid, err := fixedKeyring(f).marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add([]byte(`{"current":"k1","keys":{"k1":"AAAA"}}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := ParseKeyring(data)
		if err != nil {
			return
		}
		// What parses must survive a save and load unchanged.
		out, err := k.marshal()
		if err != nil {
			t.Fatal(err)
		}
		k2, err := ParseKeyring(out)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", out, err)
		}
		out2, _ := k2.marshal()
		if !bytes.Equal(out, out2) {
			t.Fatalf("round trip changed the keyring: %s != %s", out, out2)
		}
	})
}
