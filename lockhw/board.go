package lockhw

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// EmulatedBoard answers the lock-board protocol (frame.go) on a serial
// line the way a real 16-channel board does, with a Sim standing in for
// the locks and sensors, so the RS485 driver — and the agent above it —
// can be tested without hardware. Sim controls (PersonOpens, Force, Jam,
// ...) act on what the board reports.
//
// Like a board on a shared bus it ignores frames for other addresses and
// noise. Faults of the line itself are injected with Drop and Garble.
type EmulatedBoard struct {
	rw    io.ReadWriter
	addr  byte
	sim   *Sim
	codec Codec

	mu     sync.Mutex
	drop   int // replies still to swallow
	garble int // replies still to corrupt
	served int // requests answered or dropped
}

// NewEmulatedBoard returns a board at address addr serving on rw, whose
// channels 0..sim.Locks()-1 are sim's locks 1..sim.Locks(). sim must have
// at most 16 locks.
func NewEmulatedBoard(rw io.ReadWriter, addr byte, sim *Sim) (*EmulatedBoard, error) {
	if sim.Locks() < 1 || sim.Locks() > 16 {
		return nil, fmt.Errorf("lockhw: emulated board: %d locks; a board has 1 to 16", sim.Locks())
	}
	return &EmulatedBoard{rw: rw, addr: addr, sim: sim}, nil
}

// SetCodec selects the checksum variant the board speaks.
func (b *EmulatedBoard) SetCodec(c Codec) { b.codec = c }

// Drop makes the board ignore the next n requests, as if the line lost them.
func (b *EmulatedBoard) Drop(n int) {
	b.mu.Lock()
	b.drop = n
	b.mu.Unlock()
}

// Garble makes the board corrupt the checksum of its next n replies.
func (b *EmulatedBoard) Garble(n int) {
	b.mu.Lock()
	b.garble = n
	b.mu.Unlock()
}

// Served returns how many requests addressed to the board it has received.
func (b *EmulatedBoard) Served() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.served
}

// Serve answers requests until rw fails or ctx ends. It returns nil when
// rw reaches EOF or is closed, or ctx is cancelled, which is how a test
// stops it; ctx is only checked between reads, so closing rw is the prompt
// way.
func (b *EmulatedBoard) Serve(ctx context.Context) error {
	var buf []byte
	chunk := make([]byte, 64)
	for ctx.Err() == nil {
		n, err := b.rw.Read(chunk)
		buf = append(buf, chunk[:n]...)
		for len(buf) > 0 {
			f, used, derr := b.codec.Decode(buf)
			if errors.Is(derr, ErrShortFrame) {
				break
			}
			buf = buf[used:] // a frame, or noise to skip past
			if derr == nil {
				if werr := b.handle(ctx, f); werr != nil {
					return werr
				}
			}
		}
		if len(buf) > MaxFrame {
			buf = buf[len(buf)-MaxFrame:]
		}
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) || errors.Is(err, os.ErrClosed) || ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("lockhw: emulated board %#02x: read: %w", b.addr, err)
		}
	}
	return nil
}

// handle answers one frame.
func (b *EmulatedBoard) handle(ctx context.Context, f Frame) error {
	if f.Addr != b.addr || !IsRequest(f.Cmd) {
		return nil // another board's business, or another board's reply
	}
	b.mu.Lock()
	b.served++
	if b.drop > 0 {
		b.drop--
		b.mu.Unlock()
		return nil
	}
	garble := b.garble > 0
	if garble {
		b.garble--
	}
	b.mu.Unlock()

	reply, ok := b.reply(ctx, f)
	if !ok {
		return nil // a real board stays silent on a channel it lacks
	}
	out, err := b.codec.Encode(reply)
	if err != nil {
		return fmt.Errorf("lockhw: emulated board %#02x: %w", b.addr, err)
	}
	if garble {
		out[len(out)-1] ^= 0xFF
	}
	if _, err := b.rw.Write(out); err != nil {
		return fmt.Errorf("lockhw: emulated board %#02x: write: %w", b.addr, err)
	}
	return nil
}

// reply computes the answer to a request, or false for none.
func (b *EmulatedBoard) reply(ctx context.Context, f Frame) (Frame, bool) {
	switch f.Cmd {
	case CmdOpen:
		result := OpenReleased
		if err := b.sim.Open(ctx, int(f.Lock)+1); errors.Is(err, ErrJammed) {
			result = OpenJammed
		} else if err != nil {
			return Frame{}, false
		}
		return Frame{Addr: b.addr, Lock: f.Lock, Cmd: CmdOpenReply, Data: []byte{result}}, true
	case CmdReadStatus:
		st, err := b.sim.Statuses(ctx)
		if err != nil {
			return Frame{}, false
		}
		var locked, open uint16
		for i, s := range st {
			if s.Locked {
				locked |= 1 << i
			}
			if s.DoorOpen {
				open |= 1 << i
			}
		}
		// Unfitted channels read as locked and closed, as on a real
		// board whose unused inputs are bridged.
		for i := len(st); i < 16; i++ {
			locked |= 1 << i
		}
		return Frame{Addr: b.addr, Cmd: CmdStatusReply, Data: StatusBits(locked, open)}, true
	}
	return Frame{}, false
}
