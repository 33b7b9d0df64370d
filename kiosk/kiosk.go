// Package kiosk serves the locker's touchscreen: pickup by PIN and phone
// digits, or by a QR code the locker's scanner types into a field. Pages
// are rendered on the server (html/template) from embedded assets and make
// no outside request, in en, de, it and pl, usable by touch, keyboard and
// screen reader. Codes travel only in POST bodies, never in a URL; forms
// carry a signed token and cross-origin posts are refused; no page is
// cached. The agent mounts the Handler on loopback and implements Locker.
package kiosk

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Result is what a successful pickup opened.
type Result struct {
	// CompartmentLabel is the door's printed label, such as "A12".
	CompartmentLabel string
}

// Locker is what the kiosk needs from the locker: the two pickups. Errors
// say why a pickup failed: ErrWrongCode, ErrExpired, ErrOffline, or a
// *LockedOutError; any other error shows a generic message.
type Locker interface {
	PickupPIN(ctx context.Context, pin, phoneDigits string) (Result, error)
	PickupQR(ctx context.Context, token string) (Result, error)
}

// Depositor is a Locker that also lets couriers deposit with a one-time
// deposit code; the kiosk shows the courier's form only for one.
type Depositor interface {
	Deposit(ctx context.Context, depositCode string) (Result, error)
}

// Pickup failures the kiosk explains to the person at the screen.
var (
	// ErrWrongCode: no parcel here matches the code (and phone digits).
	// The kiosk never says which of the two was wrong.
	ErrWrongCode = errors.New("wrong code")
	// ErrExpired: the code belonged to a parcel whose storage time ended.
	ErrExpired = errors.New("code expired")
	// ErrOffline: the locker cannot check codes right now.
	ErrOffline = errors.New("locker offline")
)

// LockedOutError: too many wrong attempts; the kiosk asks to try again
// after RetryAfter.
type LockedOutError struct {
	RetryAfter time.Duration
}

func (e *LockedOutError) Error() string {
	return fmt.Sprintf("locked out, retry after %v", e.RetryAfter)
}
