package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/code"
	"github.com/parcelguard/parcelguard/kiosk"
	"github.com/parcelguard/parcelguard/service"
	"github.com/parcelguard/parcelguard/sqlite"
)

// kioskInfo is what the kiosk's browser test needs: the touchscreen's
// address and two parcels waiting in its locker (one picked up with the
// pointer, one with the keyboard only).
type kioskInfo struct {
	Base    string        `json:"base"`
	Parcels []kioskParcel `json:"parcels"`
}

type kioskParcel struct {
	PIN   string `json:"pin"`
	Phone string `json:"phone"`
	Label string `json:"label"`
}

// serviceLocker is the kiosk's Locker on the real service, acting as the
// kiosk principal of one site, with the service's errors mapped to the
// kiosk's, as the locker's agent does.
type serviceLocker struct {
	svc   *service.Service
	site  string
	kiosk parcelguard.Principal
}

func (l *serviceLocker) PickupPIN(ctx context.Context, pin, phone string) (kiosk.Result, error) {
	res, err := l.svc.Pickup(ctx, l.kiosk, l.site, pin, phone)
	return l.result(res, err)
}

func (l *serviceLocker) PickupQR(ctx context.Context, token string) (kiosk.Result, error) {
	res, err := l.svc.PickupQR(ctx, l.kiosk, l.site, token)
	return l.result(res, err)
}

func (l *serviceLocker) result(res *service.PickupResult, err error) (kiosk.Result, error) {
	var pe *parcelguard.Error
	switch {
	case err == nil:
		return kiosk.Result{CompartmentLabel: res.CompartmentLabel}, nil
	case errors.Is(err, parcelguard.ErrThrottled) && errors.As(err, &pe):
		return kiosk.Result{}, &kiosk.LockedOutError{RetryAfter: pe.RetryAfter}
	case errors.Is(err, parcelguard.ErrCodeRejected):
		return kiosk.Result{}, kiosk.ErrWrongCode
	}
	return kiosk.Result{}, err
}

// startKiosk serves the kiosk of a locker with two deposited parcels on a
// free loopback port, backed by the service on a SQLite store, until the
// test ends.
func startKiosk(t *testing.T) kioskInfo {
	t.Helper()
	ctx := context.Background()
	keys, err := code.GenerateKeyring()
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "kiosk.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	svc := service.New(service.Config{Store: db, Clock: parcelguard.SystemClock{}, Keys: keys})
	sys := parcelguard.System
	site, err := svc.CreateSite(ctx, sys, parcelguard.Site{Name: "Hauptbahnhof", Address: "Bahnhofplatz 1, München",
		Lat: 48.14, Lon: 11.56, TimeZone: "Europe/Berlin", OpeningHours: "24/7"})
	if err != nil {
		t.Fatal(err)
	}
	carrier, err := svc.CreateCarrier(ctx, sys, parcelguard.Carrier{Name: "Fast Parcel", PhoneFactor: true})
	if err != nil {
		t.Fatal(err)
	}
	carrierP := parcelguard.Principal{Role: parcelguard.RoleCarrier, KeyPrefix: "pgk_e2e", CarrierID: carrier.ID}
	courier := parcelguard.Principal{Role: parcelguard.RoleCourier, KeyPrefix: "pgk_e2e", CarrierID: carrier.ID}
	info := kioskInfo{}
	for i := range 2 {
		if _, err := svc.AddCompartment(ctx, sys, parcelguard.Compartment{SiteID: site.ID, Label: fmt.Sprintf("B%d", i+1),
			Size: parcelguard.SizeM}); err != nil {
			t.Fatal(err)
		}
		p, err := svc.Announce(ctx, carrierP, parcelguard.Parcel{TrackingNumber: fmt.Sprintf("PK-%d", i+1), Size: parcelguard.SizeS,
			SiteID: site.ID, Recipient: parcelguard.Recipient{Name: "Ada", Phone: fmt.Sprintf("+49151123456%02d", i)}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Reserve(ctx, courier, p.ID); err != nil {
			t.Fatal(err)
		}
		p, err = svc.Deposit(ctx, courier, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		pin, _, err := svc.PickupCode(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		c, err := svc.Compartments(ctx, sys, site.ID)
		if err != nil {
			t.Fatal(err)
		}
		label := ""
		for _, x := range c {
			if x.ID == p.CompartmentID {
				label = x.Label
			}
		}
		info.Parcels = append(info.Parcels, kioskParcel{PIN: pin, Phone: fmt.Sprintf("56%02d", i), Label: label})
	}
	h, err := kiosk.New(kiosk.Config{SiteName: site.Name, Locker: &serviceLocker{svc: svc, site: site.ID,
		kiosk: parcelguard.Principal{Role: parcelguard.RoleKiosk, KeyPrefix: "pgk_kiosk", SiteID: site.ID}}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	info.Base = "http://" + ln.Addr().String()
	return info
}
