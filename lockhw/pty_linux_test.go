//go:build linux

package lockhw

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/parcelguard/parcelguard"
)

// openPTY returns the master of a new pseudo-terminal and its slave's path.
func openPTY(t *testing.T) (*os.File, string) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil { // unlockpt
		master.Close()
		t.Fatalf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN) // ptsname
	if err != nil {
		master.Close()
		t.Fatalf("ptsname: %v", err)
	}
	// The master side must pass bytes through untouched too.
	tio, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	tio.Lflag &^= unix.ECHO | unix.ICANON | unix.ISIG | unix.IEXTEN
	tio.Oflag &^= unix.OPOST
	tio.Iflag &^= unix.ICRNL | unix.IXON
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, tio); err != nil {
		t.Fatal(err)
	}
	return master, fmt.Sprintf("/dev/pts/%d", n)
}

// ptyMaster reads EIO, which a master gets once the slave is closed, as
// the end of the line.
type ptyMaster struct{ *os.File }

func (m ptyMaster) Read(b []byte) (int, error) {
	n, err := m.File.Read(b)
	if errors.Is(err, unix.EIO) {
		err = io.EOF
	}
	return n, err
}

// TestRS485OverPTY runs the driver on a tty configured by OpenSerial, with
// the emulated board on the pseudo-terminal's master side.
func TestRS485OverPTY(t *testing.T) {
	master, slave := openPTY(t)
	sim := NewSim(16, parcelguard.NewManualClock(epoch))
	board, err := NewEmulatedBoard(ptyMaster{master}, 0, sim)
	if err != nil {
		t.Fatal(err)
	}
	serveBoard(t, board, master)

	port, err := OpenSerial(slave)
	if err != nil {
		t.Fatal(err)
	}
	tio, err := unix.IoctlGetTermios(int(port.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if tio.Cflag&unix.CBAUD != unix.B9600 || tio.Cflag&unix.CSIZE != unix.CS8 ||
		tio.Cflag&(unix.PARENB|unix.CSTOPB) != 0 || tio.Lflag&unix.ICANON != 0 {
		t.Fatalf("port not 9600 8N1 raw: cflag %#o lflag %#o", tio.Cflag, tio.Lflag)
	}
	drv, err := NewRS485(port, RS485Config{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer drv.Close()

	ctx := context.Background()
	// Lock 4 is channel 3: its open frame, 02 00 03 51 03 59, holds the
	// bytes a cooked tty would mangle (ETX is ^C); raw mode must not.
	if err := drv.Open(ctx, 4); err != nil {
		t.Fatal(err)
	}
	sim.PersonOpens(4)
	sim.Force(16)
	all, err := drv.Statuses(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		want := Status{Lock: s.Lock, Locked: s.Lock != 4, DoorOpen: s.Lock == 4 || s.Lock == 16, SensorOK: true}
		if s != want {
			t.Errorf("status %+v, want %+v", s, want)
		}
	}
	sim.Jam(9)
	if err := drv.Open(ctx, 9); !errors.Is(err, ErrJammed) {
		t.Fatalf("jammed lock: %v", err)
	}
	if err := drv.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestOpenSerialMissing(t *testing.T) {
	if _, err := OpenSerial("/dev/does-not-exist"); err == nil {
		t.Fatal("opened a missing port")
	}
	// A regular file is not a tty.
	f, err := os.CreateTemp(t.TempDir(), "notatty")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := OpenSerial(f.Name()); err == nil {
		t.Fatal("configured a regular file")
	}
}
