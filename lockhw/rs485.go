package lockhw

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// RS485Config describes a bus of lock boards.
type RS485Config struct {
	// Boards lists the board addresses in the order their locks are
	// numbered: locks 1..LocksPerBoard are on Boards[0], and so on.
	// Empty means one board at address 0x00.
	Boards []byte
	// LocksPerBoard is the number of channels per board, 1–16; zero means 16.
	LocksPerBoard int
	// Locks is the number of locks fitted, which may leave the last board's
	// top channels unused; zero means every channel of every board.
	Locks int
	// Timeout bounds the wait for each reply; zero means 300 ms, ample for
	// a 10-byte frame at 9600 baud (about 10 ms) plus the board's reaction.
	Timeout time.Duration
	// Attempts is how often a command is sent before giving up; zero means
	// 3. Repeating an open whose reply was lost pulses the lock again,
	// which is harmless, whereas not opening strands the user.
	Attempts int
	// Codec selects the checksum variant; the zero Codec is the common one.
	Codec Codec
}

// RS485 drives lock boards over a serial line (see frame.go for the
// protocol). It sends one command at a time, as a half-duplex bus needs,
// and validates every reply.
type RS485 struct {
	rw  io.ReadWriter
	cfg RS485Config

	mu  sync.Mutex // serialises transactions on the bus
	buf []byte     // received bytes not yet decoded

	in       chan []byte   // bytes from the reader goroutine
	readDone chan struct{} // closed when the reader goroutine stops
	readErr  error         // why it stopped; read after readDone
	stop     chan struct{} // closed by Close
	stopOnce sync.Once
}

// NewRS485 returns a driver talking over rw, typically a port opened with
// OpenSerial. A goroutine reads rw until Close, so that replies can be
// waited for with a timeout even when rw's Read cannot be interrupted;
// Close closes rw when it is an io.Closer to end that read.
func NewRS485(rw io.ReadWriter, cfg RS485Config) (*RS485, error) {
	if len(cfg.Boards) == 0 {
		cfg.Boards = []byte{0}
	}
	if cfg.LocksPerBoard == 0 {
		cfg.LocksPerBoard = 16
	}
	if cfg.LocksPerBoard < 1 || cfg.LocksPerBoard > 16 {
		return nil, fmt.Errorf("lockhw: rs485: %d locks per board; a board has 1 to 16", cfg.LocksPerBoard)
	}
	most := len(cfg.Boards) * cfg.LocksPerBoard
	if cfg.Locks == 0 {
		cfg.Locks = most
	}
	if cfg.Locks < 1 || cfg.Locks > most {
		return nil, fmt.Errorf("lockhw: rs485: %d locks do not fit %d boards of %d", cfg.Locks, len(cfg.Boards), cfg.LocksPerBoard)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 300 * time.Millisecond
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = 3
	}
	d := &RS485{
		rw: rw, cfg: cfg,
		in:       make(chan []byte, 16),
		readDone: make(chan struct{}),
		stop:     make(chan struct{}),
	}
	go d.readLoop()
	return d, nil
}

// Locks returns the number of locks on the bus.
func (d *RS485) Locks() int { return d.cfg.Locks }

// Open pulses lock and returns ErrJammed when the board reports that the
// bolt stayed engaged.
func (d *RS485) Open(ctx context.Context, lock int) error {
	if err := checkLock(lock, d.cfg.Locks); err != nil {
		return err
	}
	addr, ch := d.place(lock)
	reply, err := d.transact(ctx, Frame{Addr: addr, Lock: ch, Cmd: CmdOpen}, CmdOpenReply)
	if err != nil {
		return fmt.Errorf("lockhw: rs485: open lock %d: %w", lock, err)
	}
	switch reply.Data[0] {
	case OpenReleased:
		return nil
	case OpenJammed:
		return fmtErr(ErrJammed, "rs485: lock %d", lock)
	}
	return fmtErr(ErrBadReply, "rs485: open lock %d: result %#02x", lock, reply.Data[0])
}

// Status reads lock's board and returns lock's readings.
func (d *RS485) Status(ctx context.Context, lock int) (Status, error) {
	if err := checkLock(lock, d.cfg.Locks); err != nil {
		return Status{}, err
	}
	addr, _ := d.place(lock)
	first := lock - (lock-1)%d.cfg.LocksPerBoard
	st, err := d.readBoard(ctx, addr, first)
	if err != nil {
		return Status{}, fmt.Errorf("lockhw: rs485: status of lock %d: %w", lock, err)
	}
	return st[lock-first], nil
}

// Statuses reads every board in turn.
func (d *RS485) Statuses(ctx context.Context) ([]Status, error) {
	out := make([]Status, 0, d.cfg.Locks)
	for i, addr := range d.cfg.Boards {
		first := i*d.cfg.LocksPerBoard + 1
		if first > d.cfg.Locks {
			break
		}
		st, err := d.readBoard(ctx, addr, first)
		if err != nil {
			return nil, fmt.Errorf("lockhw: rs485: statuses: %w", err)
		}
		out = append(out, st...)
	}
	return out, nil
}

// Close stops the reader and closes the port if it can be closed.
func (d *RS485) Close() error {
	var err error
	d.stopOnce.Do(func() {
		close(d.stop)
		if c, ok := d.rw.(io.Closer); ok {
			err = c.Close()
		}
	})
	if err != nil {
		return fmt.Errorf("lockhw: rs485: close: %w", err)
	}
	return nil
}

// place returns the board address and channel of lock.
func (d *RS485) place(lock int) (addr, ch byte) {
	i := (lock - 1) / d.cfg.LocksPerBoard
	return d.cfg.Boards[i], byte((lock - 1) % d.cfg.LocksPerBoard)
}

// readBoard returns the statuses of the locks on board addr, the first of
// which is lock number first.
func (d *RS485) readBoard(ctx context.Context, addr byte, first int) ([]Status, error) {
	reply, err := d.transact(ctx, Frame{Addr: addr, Cmd: CmdReadStatus}, CmdStatusReply)
	if err != nil {
		return nil, err
	}
	locked, open, err := ParseStatusBits(reply.Data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadReply, err)
	}
	n := min(d.cfg.LocksPerBoard, d.cfg.Locks-first+1)
	out := make([]Status, n)
	for ch := range n {
		// The board cannot tell a broken sensor from a good one, so its
		// readings are taken as sound; a silent board fails the call.
		out[ch] = Status{
			Lock:     first + ch,
			Locked:   locked&(1<<ch) != 0,
			DoorOpen: open&(1<<ch) != 0,
			SensorOK: true,
		}
	}
	return out, nil
}

// transact sends req and waits for a reply with command want from the same
// board and channel, retrying on silence or a bad reply.
func (d *RS485) transact(ctx context.Context, req Frame, want byte) (Frame, error) {
	out, err := d.cfg.Codec.Encode(req)
	if err != nil {
		return Frame{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var last error
	for attempt := 1; attempt <= d.cfg.Attempts; attempt++ {
		if err := ctx.Err(); err != nil {
			return Frame{}, err
		}
		// A reply that came after the previous attempt gave up would be
		// taken for this attempt's; drop it.
		d.drain()
		if _, err := d.rw.Write(out); err != nil {
			if d.stopped() {
				return Frame{}, ErrClosed
			}
			return Frame{}, fmt.Errorf("write to board %#02x: %w", req.Addr, err)
		}
		reply, err := d.await(ctx, req, want)
		if err == nil {
			return reply, nil
		}
		if !errors.Is(err, ErrTimeout) && !errors.Is(err, ErrBadReply) {
			return Frame{}, err
		}
		last = err
	}
	return Frame{}, fmt.Errorf("board %#02x, %d attempts: %w", req.Addr, d.cfg.Attempts, last)
}

// await decodes received bytes until it has a reply to req, the timeout
// passes, or a bad reply arrives.
func (d *RS485) await(ctx context.Context, req Frame, want byte) (Frame, error) {
	timer := time.NewTimer(d.cfg.Timeout)
	defer timer.Stop()
	for {
		for len(d.buf) > 0 {
			f, n, err := d.cfg.Codec.Decode(d.buf)
			if errors.Is(err, ErrShortFrame) {
				break
			}
			if err != nil {
				d.buf = d.buf[:0]
				return Frame{}, fmt.Errorf("%w: %w", ErrBadReply, err)
			}
			d.buf = d.buf[n:]
			if IsRequest(f.Cmd) && f.Addr == req.Addr && f.Lock == req.Lock && f.Cmd == req.Cmd {
				continue // our own frame, echoed by the adapter
			}
			if f.Addr != req.Addr || f.Cmd != want || f.Lock != req.Lock {
				d.buf = d.buf[:0]
				return Frame{}, fmt.Errorf("%w: got command %#02x from board %#02x channel %d, want %#02x from board %#02x channel %d",
					ErrBadReply, f.Cmd, f.Addr, f.Lock, want, req.Addr, req.Lock)
			}
			return f, nil
		}
		select {
		case b := <-d.in:
			d.buf = append(d.buf, b...)
		case <-timer.C:
			return Frame{}, ErrTimeout
		case <-ctx.Done():
			return Frame{}, ctx.Err()
		case <-d.readDone:
			if d.stopped() {
				return Frame{}, ErrClosed
			}
			return Frame{}, fmt.Errorf("read from board %#02x: %w", req.Addr, d.readErr)
		case <-d.stop:
			return Frame{}, ErrClosed
		}
	}
}

// drain discards every byte received so far.
func (d *RS485) drain() {
	d.buf = d.buf[:0]
	for {
		select {
		case <-d.in:
		default:
			return
		}
	}
}

func (d *RS485) stopped() bool {
	select {
	case <-d.stop:
		return true
	default:
		return false
	}
}

// readLoop moves bytes from the port to d.in until the port fails or the
// driver is closed.
func (d *RS485) readLoop() {
	defer close(d.readDone)
	buf := make([]byte, 64)
	for {
		n, err := d.rw.Read(buf)
		if n > 0 {
			select {
			case d.in <- append([]byte(nil), buf[:n]...):
			case <-d.stop:
				return
			}
		}
		if err != nil {
			d.readErr = err
			return
		}
	}
}
