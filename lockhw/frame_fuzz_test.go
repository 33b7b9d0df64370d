package lockhw

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to the decoder: it must never panic,
// must report a sane length, and whatever it accepts must re-encode to the
// same bytes.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		"02 00 00 51 03 56", "02 00 00 50 03 55", "02 00 00 61 00 03 66",
		"02 00 00 65 FE FF 01 00 03 68", "FF 02 00", "02 00 00 99", "",
	} {
		f.Add(unhex(f, s), false)
	}
	f.Fuzz(func(t *testing.T, b []byte, xor bool) {
		c := Codec{}
		if xor {
			c.Checksum = XOR
		}
		fr, n, err := c.Decode(b)
		switch {
		case err == nil:
			if n < frameOverhead || n > len(b) {
				t.Fatalf("n = %d for %d bytes", n, len(b))
			}
			enc, eerr := c.Encode(fr)
			if eerr != nil || !bytes.Equal(enc, b[:n]) {
				t.Fatalf("re-encode % X (%v), want % X", enc, eerr, b[:n])
			}
		case errors.Is(err, ErrShortFrame):
			if n != 0 {
				t.Fatalf("short frame consumed %d", n)
			}
		default:
			if n < 1 || n > len(b) {
				t.Fatalf("error %v consumed %d of %d", err, n, len(b))
			}
		}
	})
}

// FuzzRoundTrip checks decode(encode(x)) == x for every valid frame.
func FuzzRoundTrip(f *testing.F) {
	f.Add(byte(0), byte(0), byte(CmdOpen), []byte{}, false)
	f.Add(byte(3), byte(15), byte(CmdStatusReply), []byte{1, 2, 3, 4}, true)
	f.Fuzz(func(t *testing.T, addr, lock, cmd byte, data []byte, xor bool) {
		c := Codec{}
		if xor {
			c.Checksum = XOR
		}
		in := Frame{Addr: addr, Lock: lock, Cmd: cmd, Data: data}
		b, err := c.Encode(in)
		if err != nil {
			if n, ok := dataLen(cmd); ok && n == len(data) {
				t.Fatalf("valid frame rejected: %v", err)
			}
			return
		}
		out, n, err := c.Decode(b)
		if err != nil || n != len(b) {
			t.Fatalf("Decode(% X) = %d, %v", b, n, err)
		}
		if out.Addr != in.Addr || out.Lock != in.Lock || out.Cmd != in.Cmd || !bytes.Equal(out.Data, in.Data) {
			t.Fatalf("round trip %+v -> %+v", in, out)
		}
	})
}
