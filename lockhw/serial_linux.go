//go:build linux

package lockhw

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// OpenSerial opens the serial port at path (a USB RS-485 adapter such as
// /dev/ttyUSB0) for the lock-board protocol: 9600 baud, 8 data bits, no
// parity, 1 stop bit, no flow control, raw bytes.
//
// The port is opened non-blocking so that the returned file joins Go's
// poller: Close then interrupts a pending Read, which RS485.Close relies on.
func OpenSerial(path string) (*os.File, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("lockhw: open serial %s: %w", path, err)
	}
	if err := configure(fd); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("lockhw: configure serial %s: %w", path, err)
	}
	return os.NewFile(uintptr(fd), path), nil
}

// configure puts the tty into raw 9600 8N1 mode.
func configure(fd int) error {
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}
	// Raw mode, as cfmakeraw(3): no line editing, no echo, no signals, no
	// CR/LF translation, so that 0x03 or 0x0D pass through untouched.
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP |
		unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON | unix.IXOFF | unix.IXANY
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	// 8 data bits, no parity, 1 stop bit, no RTS/CTS; CLOCAL because the
	// adapter has no modem lines, CREAD to receive at all.
	t.Cflag &^= unix.CSIZE | unix.PARENB | unix.CSTOPB | unix.CRTSCTS | unix.CBAUD
	t.Cflag |= unix.CS8 | unix.CLOCAL | unix.CREAD | unix.B9600
	t.Ispeed, t.Ospeed = unix.B9600, unix.B9600
	// Return from read as soon as one byte is there; timeouts are the
	// driver's business, not the tty's.
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, t); err != nil {
		return err
	}
	// Drop whatever the line picked up before we were listening.
	return unix.IoctlSetInt(fd, unix.TCFLSH, unix.TCIOFLUSH)
}
