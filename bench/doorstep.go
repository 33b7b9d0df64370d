package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/service"
)

// Every doorstep address of a run is here, and the courier verifies
// standing at it.
const doorstepLat, doorstepLon = 52.2297, 21.0122

// doorstepItem is one doorstep parcel of a run: out for delivery today
// with a password for its recipient, then delivered.
type doorstepItem struct {
	parcel string
	// password is the recipient's delivery password (service only).
	password string
}

// middayZone names a fixed-offset IANA zone in which t falls near noon.
// Delivery passwords are valid until the end of the delivery day in the
// recipient's zone and the end-of-day timer fails what is still out then,
// so a run must not cross the recipients' midnight, whenever it starts.
func middayZone(t time.Time) string {
	offset := 12 - t.UTC().Hour() // hours east of UTC, in -11..12
	switch {
	case offset > 0:
		return fmt.Sprintf("Etc/GMT-%d", offset) // POSIX signs: GMT-2 is UTC+2
	case offset < 0:
		return fmt.Sprintf("Etc/GMT+%d", -offset)
	}
	return "Etc/GMT"
}

// seedDoorstep announces n doorstep parcels of the world's carrier, each
// flagged for a password, and sends them out for delivery today, through
// the use cases on workers goroutines: a handover then finds what the
// service's own announce and morning route leave behind (password, end of
// day timer, events in the carrier's chain).
func (w *world) seedDoorstep(ctx context.Context, svc *service.Service, n, workers int) error {
	zone := middayZone(time.Now())
	w.doorstep = make([]doorstepItem, n)
	return forEach(ctx, n, workers, func(ctx context.Context, i int) error {
		in := service.DoorstepAnnouncement{
			Parcel: parcelguard.Parcel{CarrierID: w.carrier.ID, TrackingNumber: fmt.Sprintf("BENCH-D-%09d", i),
				Recipient: parcelguard.Recipient{Name: "Bench Recipient", Phone: recipientPhone, Email: "recipient@example.com", Language: "en"},
				Size:      parcelguard.SizeS},
			Address: fmt.Sprintf("Bench Avenue %d", i+1), Lat: doorstepLat, Lon: doorstepLon, TimeZone: zone, Country: "PL",
			PasswordFlag: true,
		}
		x, err := svc.AnnounceDoorstep(ctx, parcelguard.System, in)
		if err != nil {
			return err
		}
		if _, err := svc.OutForDelivery(ctx, parcelguard.System, x.Parcel.ID, i+1); err != nil {
			return err
		}
		w.doorstep[i].parcel = x.Parcel.ID
		return nil
	})
}

// readPasswords learns the recipients' delivery passwords as they would,
// from the sealed copy their message is rendered from.
func readPasswords(ctx context.Context, svc *service.Service, store parcelguard.Store, w *world, workers int) error {
	return forEach(ctx, len(w.doorstep), workers, func(ctx context.Context, i int) error {
		it := &w.doorstep[i]
		var pws []*parcelguard.DoorstepPassword
		err := store.View(ctx, func(tx parcelguard.Tx) (err error) {
			pws, err = tx.DoorstepPasswords(ctx, it.parcel)
			return err
		})
		if err != nil {
			return err
		}
		for _, pw := range pws {
			if pw.Holder == parcelguard.HolderRecipient && pw.State == parcelguard.GrantActive {
				it.password, _, err = svc.DoorstepCode(ctx, pw.ID)
				return err
			}
		}
		return fmt.Errorf("doorstep parcel %s has no active recipient password", it.parcel)
	})
}
