package lockhw

import (
	"errors"
	"fmt"
)

// The lock-board protocol: 9600 baud, 8 data bits, no parity, 1 stop bit,
// binary frames on a half-duplex RS-485 bus where the host speaks first and
// each board (set to an address 0x00–0x0F by DIP switch) answers only the
// frames addressed to it. It is the frame of the widely sold CU16-style
// ("KERONG"-type) 16-channel locker boards:
//
//	STX  ADDR  LOCK  CMD  DATA...  ETX  SUM
//	0x02 board chan  cmd  0–4 B    0x03 checksum
//
// ADDR is the board address, 0x00–0x0F. LOCK is the channel on that board
// counted from 0 (lock 1 is 0x00); commands and replies about the whole
// board carry 0x00. There is no length byte: CMD alone fixes the DATA
// length (see dataLen), so a decoder must know every command it accepts.
// SUM is, by default, the low 8 bits of the arithmetic sum of every
// preceding byte, STX and ETX included (Sum). Some firmware uses the XOR of
// the same bytes instead; Codec.Checksum selects it (XOR), and "open lock 1"
// becomes 02 00 00 51 03 50.
//
// Commands, with frames for board 0x00 and the default Sum checksum:
//
//	open lock (host → board), CMD 0x51, no data:
//	  lock 1:                02 00 00 51 03 56
//	  lock 16 of board 0x01: 02 01 0F 51 03 66
//	open reply (board → host), CMD 0x61, 1 data byte — the bolt feedback
//	after the pulse: 0x00 released, 0x01 still engaged (jammed):
//	  lock 1 released:   02 00 00 61 00 03 66
//	read status of all locks (host → board), CMD 0x50, no data:
//	                     02 00 00 50 03 55
//	status reply (board → host), CMD 0x65, 4 data bytes:
//	  LK0 LK1 DR0 DR1 — two little-endian 16-bit bitmaps, bit i for
//	  channel i (LK0 bit 0 is lock 1, LK1 bit 7 is lock 16):
//	  LK: 1 = bolt engaged (locked), 0 = released;
//	  DR: 1 = door open, 0 = door closed.
//	  all locked, all closed:           02 00 00 65 FF FF 00 00 03 68
//	  lock 1 released, its door open:   02 00 00 65 FE FF 01 00 03 68
//
// The request frames follow the layout commonly published for these boards;
// reply layouts (and the checksum) vary between vendors and firmware
// revisions, so check a new board against its sheet. That is why every
// layout lives in one table (dataLen) and is pinned by tests against the
// bytes above.
const (
	STX byte = 0x02 // first byte of every frame
	ETX byte = 0x03 // byte before the checksum

	CmdOpen        byte = 0x51 // host → board: pulse one lock
	CmdReadStatus  byte = 0x50 // host → board: report every channel
	CmdOpenReply   byte = 0x61 // board → host: answer to CmdOpen
	CmdStatusReply byte = 0x65 // board → host: answer to CmdReadStatus
)

// Open reply data values.
const (
	OpenReleased byte = 0x00 // the bolt released
	OpenJammed   byte = 0x01 // the bolt stayed engaged
)

// Frame lengths without data: STX ADDR LOCK CMD ETX SUM.
const frameOverhead = 6

// MaxFrame is the length of the longest frame, the status reply.
const MaxFrame = frameOverhead + 4

// dataLen returns how many data bytes follow CMD, and whether cmd is known.
func dataLen(cmd byte) (int, bool) {
	switch cmd {
	case CmdOpen, CmdReadStatus:
		return 0, true
	case CmdOpenReply:
		return 1, true
	case CmdStatusReply:
		return 4, true
	}
	return 0, false
}

// IsRequest reports whether cmd is sent by the host. A decoder on a bus
// whose adapter echoes what it sends uses it to skip its own frames.
func IsRequest(cmd byte) bool { return cmd == CmdOpen || cmd == CmdReadStatus }

// Frame is one decoded protocol frame.
type Frame struct {
	Addr byte // board address
	Lock byte // channel on the board, from 0
	Cmd  byte
	Data []byte // exactly dataLen(Cmd) bytes
}

// Sum is the default checksum: the low byte of the sum of b.
func Sum(b []byte) byte {
	var s byte
	for _, c := range b {
		s += c
	}
	return s
}

// XOR is the checksum of firmware variants that XOR the bytes of b.
func XOR(b []byte) byte {
	var s byte
	for _, c := range b {
		s ^= c
	}
	return s
}

// Frame errors. ErrShortFrame only means "read more"; the others mean the
// bytes are not a valid frame.
var (
	ErrShortFrame = errors.New("lockhw: incomplete frame")
	ErrBadFrame   = errors.New("lockhw: malformed frame")
	ErrChecksum   = errors.New("lockhw: frame checksum mismatch")
)

// Codec encodes and decodes frames. The zero Codec uses Sum.
type Codec struct {
	// Checksum computes SUM over the bytes from STX to ETX; nil means Sum.
	Checksum func([]byte) byte
}

func (c Codec) sum(b []byte) byte {
	if c.Checksum == nil {
		return Sum(b)
	}
	return c.Checksum(b)
}

// Encode returns f's bytes. It fails for an unknown command or a data
// length that does not fit the command, so no malformed frame reaches a
// board.
func (c Codec) Encode(f Frame) ([]byte, error) {
	n, ok := dataLen(f.Cmd)
	if !ok {
		return nil, fmt.Errorf("%w: unknown command %#02x", ErrBadFrame, f.Cmd)
	}
	if len(f.Data) != n {
		return nil, fmt.Errorf("%w: command %#02x takes %d data bytes, not %d", ErrBadFrame, f.Cmd, n, len(f.Data))
	}
	b := make([]byte, 0, frameOverhead+n)
	b = append(b, STX, f.Addr, f.Lock, f.Cmd)
	b = append(b, f.Data...)
	b = append(b, ETX)
	return append(b, c.sum(b)), nil
}

// Decode decodes the frame at the start of b. On success n is the frame's
// length. On ErrShortFrame b is a valid prefix of a frame and n is 0: read
// more and try again. On any other error n ≥ 1 is how many bytes to drop
// before trying again (up to the next STX), so a stream resynchronises
// after noise. Decode never panics, whatever b holds.
func (c Codec) Decode(b []byte) (f Frame, n int, err error) {
	if len(b) == 0 {
		return Frame{}, 0, ErrShortFrame
	}
	if b[0] != STX {
		return Frame{}, skipToSTX(b), fmt.Errorf("%w: starts with %#02x, not STX", ErrBadFrame, b[0])
	}
	if len(b) < 4 {
		return Frame{}, 0, ErrShortFrame
	}
	dl, ok := dataLen(b[3])
	if !ok {
		return Frame{}, skipToSTX(b), fmt.Errorf("%w: unknown command %#02x", ErrBadFrame, b[3])
	}
	size := frameOverhead + dl
	if len(b) < size {
		return Frame{}, 0, ErrShortFrame
	}
	if b[size-2] != ETX {
		return Frame{}, skipToSTX(b), fmt.Errorf("%w: %#02x where ETX belongs", ErrBadFrame, b[size-2])
	}
	if got, want := b[size-1], c.sum(b[:size-1]); got != want {
		return Frame{}, skipToSTX(b), fmt.Errorf("%w: got %#02x, want %#02x", ErrChecksum, got, want)
	}
	f = Frame{Addr: b[1], Lock: b[2], Cmd: b[3], Data: append([]byte{}, b[4:4+dl]...)}
	return f, size, nil
}

// skipToSTX returns the offset of the next STX after b[0], or len(b).
func skipToSTX(b []byte) int {
	for i := 1; i < len(b); i++ {
		if b[i] == STX {
			return i
		}
	}
	return len(b)
}

// StatusBits packs per-channel readings into a status reply's data: lock
// bitmap then door bitmap, each 16 bits little-endian.
func StatusBits(locked, doorOpen uint16) []byte {
	return []byte{byte(locked), byte(locked >> 8), byte(doorOpen), byte(doorOpen >> 8)}
}

// ParseStatusBits unpacks a status reply's data into its lock and door
// bitmaps.
func ParseStatusBits(data []byte) (locked, doorOpen uint16, err error) {
	if len(data) != 4 {
		return 0, 0, fmt.Errorf("%w: status data is %d bytes, not 4", ErrBadFrame, len(data))
	}
	return uint16(data[0]) | uint16(data[1])<<8, uint16(data[2]) | uint16(data[3])<<8, nil
}
