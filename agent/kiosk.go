package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/kiosk"
)

// KioskLocker is the kiosk's view of the agent (kiosk.Locker): the
// touchscreen's pickups go to the agent's offline verification, and its
// answers become the kiosk's error kinds.
type KioskLocker struct{ a *Agent }

// KioskLocker returns the agent as the kiosk's Locker.
func (a *Agent) KioskLocker() KioskLocker { return KioskLocker{a: a} }

// PickupPIN implements kiosk.Locker.
func (k KioskLocker) PickupPIN(ctx context.Context, pin, phoneDigits string) (kiosk.Result, error) {
	res, err := k.a.Pickup(ctx, pin, phoneDigits)
	return kioskResult(res, err)
}

// PickupQR implements kiosk.Locker.
func (k KioskLocker) PickupQR(ctx context.Context, token string) (kiosk.Result, error) {
	res, err := k.a.PickupQR(ctx, token)
	return kioskResult(res, err)
}

// Deposit implements kiosk.Depositor: a courier's deposit code opens the
// reserved compartment, offline too.
func (k KioskLocker) Deposit(ctx context.Context, depositCode string) (kiosk.Result, error) {
	res, err := k.a.Deposit(ctx, depositCode)
	return kioskResult(res, err)
}

// kioskResult maps the agent's answer to what the screen explains:
//   - the guard's growing delay (throttled) is a lock-out with its
//     retry-after;
//   - an expired grant is "expired";
//   - a wrong code, wrong phone digits, a malformed entry and a grant
//     disabled after too many failures are all "wrong code": the screen
//     never tells which part failed (SECURITY.md 6), and the recipient of a
//     disabled code is told by message how to get a new one;
//   - the local store failing (nothing was decided) is "offline": the
//     locker cannot check codes right now;
//   - anything else, such as a lock that did not open after the grant was
//     used, is the kiosk's generic failure (logged there).
func kioskResult(res *PickupResult, err error) (kiosk.Result, error) {
	if err == nil {
		return kiosk.Result{CompartmentLabel: res.CompartmentLabel}, nil
	}
	var pe *parcelguard.Error
	switch {
	case errors.As(err, &pe) && pe.Code == parcelguard.ETHROTTLED:
		return kiosk.Result{}, &kiosk.LockedOutError{RetryAfter: max(pe.RetryAfter, time.Second)}
	case errors.Is(err, parcelguard.ErrCodeExpired):
		return kiosk.Result{}, kiosk.ErrExpired
	case errors.As(err, &pe) && (pe.Code == parcelguard.EREJECTED || pe.Code == parcelguard.ELOCKED || pe.Code == parcelguard.EINVALID):
		return kiosk.Result{}, kiosk.ErrWrongCode
	case res == nil && !errors.Is(err, context.Canceled):
		return kiosk.Result{}, fmt.Errorf("%w: %w", kiosk.ErrOffline, err)
	}
	return kiosk.Result{}, err
}

// DefaultKioskListen is where the kiosk is served unless configured: the
// loopback interface only, for the locker's own touchscreen browser.
const DefaultKioskListen = "127.0.0.1:8180"

// Kiosk returns the touchscreen's HTTP handler, backed by this agent.
func (a *Agent) Kiosk(siteName string) (http.Handler, error) {
	if siteName == "" {
		siteName = a.site
	}
	return kiosk.New(kiosk.Config{Locker: a.KioskLocker(), SiteName: siteName, Clock: a.clock, Logger: a.log.With("component", "kiosk")})
}

// ServeKiosk serves the kiosk on l until ctx ends, then shuts it down.
func (a *Agent) ServeKiosk(ctx context.Context, l net.Listener, siteName string) error {
	h, err := a.Kiosk(siteName)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, ErrorLog: slog.NewLogLogger(a.log.Handler(), slog.LevelWarn)}
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	err = srv.Serve(l)
	stop()
	<-done
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
