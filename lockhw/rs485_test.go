package lockhw

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
)

// duplex joins a read and a write half into one port.
type duplex struct {
	io.Reader
	io.Writer
	close func() error
}

func (d duplex) Close() error { return d.close() }

// pipePair returns the host and board ends of a serial line made of two
// io.Pipes.
func pipePair() (host, board duplex) {
	hr, bw := io.Pipe() // board → host
	br, hw := io.Pipe() // host → board
	closeAll := func() error {
		hr.Close()
		hw.Close()
		br.Close()
		bw.Close()
		return nil
	}
	return duplex{hr, hw, closeAll}, duplex{br, bw, closeAll}
}

// boardRig is an RS485 driver wired to an emulated board over io.Pipe.
type boardRig struct {
	sim   *Sim
	board *EmulatedBoard
	drv   *RS485
}

func newBoardRig(t *testing.T, locks int, cfg RS485Config) *boardRig {
	t.Helper()
	host, line := pipePair()
	sim := NewSim(locks, parcelguard.NewManualClock(epoch))
	board, err := NewEmulatedBoard(line, 0, sim)
	if err != nil {
		t.Fatal(err)
	}
	serveBoard(t, board, line)
	if cfg.Locks == 0 {
		cfg.Locks = locks
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 100 * time.Millisecond
	}
	drv, err := NewRS485(host, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { drv.Close() })
	return &boardRig{sim, board, drv}
}

// serveBoard runs board until the test ends, then closes its line.
func serveBoard(t *testing.T, board *EmulatedBoard, line io.Closer) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := board.Serve(ctx); err != nil {
			t.Errorf("board: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		line.Close()
		wg.Wait()
	})
}

func TestRS485AgainstEmulatedBoard(t *testing.T) {
	ctx := context.Background()
	r := newBoardRig(t, 12, RS485Config{})
	if r.drv.Locks() != 12 {
		t.Fatalf("Locks = %d", r.drv.Locks())
	}
	if err := r.drv.Open(ctx, 5); err != nil {
		t.Fatal(err)
	}
	if r.sim.BoltEngaged(5) {
		t.Fatal("lock 5 did not release")
	}
	r.sim.PersonOpens(5)
	r.sim.Force(12)
	all, err := r.drv.Statuses(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 12 {
		t.Fatalf("%d statuses", len(all))
	}
	for _, s := range all {
		want := Status{Lock: s.Lock, Locked: s.Lock != 5, DoorOpen: s.Lock == 5 || s.Lock == 12, SensorOK: true}
		if s != want {
			t.Errorf("status %+v, want %+v", s, want)
		}
	}
	if s, err := r.drv.Status(ctx, 12); err != nil || !s.DoorOpen || !s.Locked {
		t.Fatalf("Status(12) = %+v, %v", s, err)
	}

	r.sim.Jam(3)
	if err := r.drv.Open(ctx, 3); !errors.Is(err, ErrJammed) {
		t.Fatalf("jammed: %v", err)
	}
	if err := r.drv.Open(ctx, 13); !errors.Is(err, ErrNoSuchLock) {
		t.Fatalf("lock 13: %v", err)
	}
}

func TestRS485Retries(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		fault    func(*EmulatedBoard)
		wantErr  error
		attempts int // requests the board should have seen
	}{
		{"lost request", func(b *EmulatedBoard) { b.Drop(1) }, nil, 2},
		{"garbled reply", func(b *EmulatedBoard) { b.Garble(2) }, nil, 3},
		{"silent board", func(b *EmulatedBoard) { b.Drop(3) }, ErrTimeout, 3},
		{"always garbled", func(b *EmulatedBoard) { b.Garble(3) }, ErrBadReply, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newBoardRig(t, 4, RS485Config{Timeout: 50 * time.Millisecond})
			tt.fault(r.board)
			err := r.drv.Open(ctx, 1)
			if !errors.Is(err, tt.wantErr) && (tt.wantErr != nil || err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if got := r.board.Served(); got != tt.attempts {
				t.Fatalf("board saw %d requests, want %d", got, tt.attempts)
			}
			// The bus recovers: the next command works.
			if _, err := r.drv.Statuses(ctx); err != nil {
				t.Fatalf("after fault: %v", err)
			}
		})
	}
}

// fakeBoard answers every request with fixed bytes.
func fakeBoard(t *testing.T, reply []byte) *RS485 {
	t.Helper()
	host, line := pipePair()
	go func() {
		buf := make([]byte, 64)
		for {
			if _, err := line.Read(buf); err != nil {
				return
			}
			if _, err := line.Write(reply); err != nil {
				return
			}
		}
	}()
	drv, err := NewRS485(host, RS485Config{Locks: 4, Timeout: 50 * time.Millisecond, Attempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { drv.Close() })
	return drv
}

func TestRS485RejectsBadReplies(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		reply string
	}{
		{"wrong address", "02 01 00 65 FF FF 00 00 03 69"},
		{"wrong command", "02 00 00 61 00 03 66"},
		{"bad checksum", "02 00 00 65 FF FF 00 00 03 00"},
		{"noise", "FF FF FF"},
		{"truncated", "02 00 00 65 FF"},
		{"unknown command", "02 00 00 77 03 7C"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			drv := fakeBoard(t, unhex(t, tt.reply))
			_, err := drv.Statuses(ctx)
			if !errors.Is(err, ErrBadReply) && !errors.Is(err, ErrTimeout) {
				t.Fatalf("err = %v, want ErrBadReply or ErrTimeout", err)
			}
		})
	}
	// An open reply with an undefined result byte.
	drv := fakeBoard(t, unhex(t, "02 00 00 61 07 03 6D"))
	if err := drv.Open(ctx, 1); !errors.Is(err, ErrBadReply) {
		t.Fatalf("odd open result: %v", err)
	}
}

func TestRS485SkipsEcho(t *testing.T) {
	// An adapter that echoes the request before the board's reply.
	drv := fakeBoard(t, unhex(t, "02 00 00 50 03 55 02 00 00 65 FE FF 00 00 03 67"))
	all, err := drv.Statuses(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if all[0].Locked || !all[1].Locked {
		t.Fatalf("statuses %+v", all)
	}
}

// TestRS485Bus puts two boards on one line: each answers only its address.
func TestRS485Bus(t *testing.T) {
	ctx := context.Background()
	host, hostEnd := pipePair()
	clock := parcelguard.NewManualClock(epoch)
	sims := []*Sim{NewSim(16, clock), NewSim(4, clock)}
	var lines []io.Writer
	for i, sim := range sims {
		line, board := pipePair()
		b, err := NewEmulatedBoard(duplex{board.Reader, hostEnd.Writer, board.close}, byte(i+3), sim)
		if err != nil {
			t.Fatal(err)
		}
		serveBoard(t, b, board)
		lines = append(lines, line.Writer)
	}
	// The bus: whatever the host sends reaches every board.
	go func() {
		buf := make([]byte, 64)
		for {
			n, err := hostEnd.Read(buf)
			if err != nil {
				return
			}
			for _, w := range lines {
				w.Write(buf[:n])
			}
		}
	}()
	drv, err := NewRS485(host, RS485Config{Boards: []byte{3, 4}, Locks: 20, Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer drv.Close()
	if err := drv.Open(ctx, 18); err != nil {
		t.Fatal(err)
	}
	if sims[1].BoltEngaged(2) || !sims[0].BoltEngaged(2) {
		t.Fatal("lock 18 is board 4 channel 1")
	}
	all, err := drv.Statuses(ctx)
	if err != nil || len(all) != 20 {
		t.Fatalf("%d statuses, %v", len(all), err)
	}
	for _, s := range all {
		if s.Locked != (s.Lock != 18) {
			t.Errorf("status %+v", s)
		}
	}
}

func TestRS485Close(t *testing.T) {
	r := newBoardRig(t, 2, RS485Config{})
	if err := r.drv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.drv.Open(context.Background(), 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
}

func TestRS485Config(t *testing.T) {
	host, _ := pipePair()
	defer host.Close()
	for _, cfg := range []RS485Config{
		{LocksPerBoard: 17},
		{Locks: 17},
		{Boards: []byte{0, 1}, LocksPerBoard: 8, Locks: 17},
	} {
		if _, err := NewRS485(host, cfg); err == nil {
			t.Errorf("config %+v accepted", cfg)
		}
	}
}

func TestRS485ContextCancel(t *testing.T) {
	r := newBoardRig(t, 2, RS485Config{Timeout: time.Second})
	r.board.Drop(1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := r.drv.Open(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
}
