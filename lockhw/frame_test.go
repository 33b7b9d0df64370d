package lockhw

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(string(bytes.ReplaceAll([]byte(s), []byte(" "), nil)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFrameGolden pins the bytes documented in frame.go.
func TestFrameGolden(t *testing.T) {
	tests := []struct {
		name  string
		codec Codec
		frame Frame
		bytes string
	}{
		{"open lock 1", Codec{}, Frame{Addr: 0, Lock: 0, Cmd: CmdOpen}, "02 00 00 51 03 56"},
		{"open lock 16 board 1", Codec{}, Frame{Addr: 1, Lock: 15, Cmd: CmdOpen}, "02 01 0F 51 03 66"},
		{"open reply released", Codec{}, Frame{Cmd: CmdOpenReply, Data: []byte{OpenReleased}}, "02 00 00 61 00 03 66"},
		{"read status", Codec{}, Frame{Cmd: CmdReadStatus}, "02 00 00 50 03 55"},
		{"status all locked closed", Codec{}, Frame{Cmd: CmdStatusReply, Data: StatusBits(0xFFFF, 0)}, "02 00 00 65 FF FF 00 00 03 68"},
		{"status lock 1 open", Codec{}, Frame{Cmd: CmdStatusReply, Data: StatusBits(0xFFFE, 0x0001)}, "02 00 00 65 FE FF 01 00 03 68"},
		{"open lock 1 xor", Codec{Checksum: XOR}, Frame{Cmd: CmdOpen}, "02 00 00 51 03 50"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := unhex(t, tt.bytes)
			got, err := tt.codec.Encode(tt.frame)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("Encode = % X, want % X", got, want)
			}
			f, n, err := tt.codec.Decode(want)
			if err != nil || n != len(want) {
				t.Fatalf("Decode = %d, %v", n, err)
			}
			again, _ := tt.codec.Encode(f)
			if !bytes.Equal(again, want) {
				t.Fatalf("re-encoded % X, want % X", again, want)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name    string
		bytes   string
		want    error
		consume int
	}{
		{"empty", "", ErrShortFrame, 0},
		{"header only", "02 00 00", ErrShortFrame, 0},
		{"no checksum yet", "02 00 00 65 FF FF 00 00 03", ErrShortFrame, 0},
		{"noise then frame", "FF 00 02 00 00 51 03 56", ErrBadFrame, 2},
		{"unknown command", "02 00 00 99 03 9E", ErrBadFrame, 6},
		{"missing ETX", "02 00 00 51 04 57", ErrBadFrame, 6},
		{"bad checksum", "02 00 00 51 03 57", ErrChecksum, 6},
		{"bad checksum resync", "02 00 00 51 03 02 00", ErrChecksum, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, n, err := Codec{}.Decode(unhex(t, tt.bytes))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if n != tt.consume {
				t.Fatalf("n = %d, want %d", n, tt.consume)
			}
		})
	}
	if _, n, err := (Codec{Checksum: XOR}).Decode(unhex(t, "02 00 00 51 03 56")); !errors.Is(err, ErrChecksum) || n != 6 {
		t.Fatalf("sum frame under XOR codec: %d, %v", n, err)
	}
}

func TestEncodeRejectsBadFrames(t *testing.T) {
	for _, f := range []Frame{
		{Cmd: 0x00},
		{Cmd: CmdOpen, Data: []byte{1}},
		{Cmd: CmdStatusReply, Data: []byte{1, 2, 3}},
	} {
		if _, err := (Codec{}).Encode(f); !errors.Is(err, ErrBadFrame) {
			t.Errorf("Encode(%+v) err = %v, want ErrBadFrame", f, err)
		}
	}
}

func TestStatusBits(t *testing.T) {
	l, d, err := ParseStatusBits(StatusBits(0x8001, 0x4002))
	if err != nil || l != 0x8001 || d != 0x4002 {
		t.Fatalf("got %#x %#x %v", l, d, err)
	}
	if _, _, err := ParseStatusBits([]byte{1}); !errors.Is(err, ErrBadFrame) {
		t.Fatalf("short data: %v", err)
	}
}
