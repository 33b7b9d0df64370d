package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/client"
)

// Steps of a lifecycle, indexes into lifeRun.steps.
const (
	stepAnnounce = iota
	stepReserve
	stepDeposit
	stepDepositNotice
	stepPickup
	stepPickupNotice
	stepLifecycle
	stepCount
)

// recipientOf is parcel n's recipient. Each has a phone number and an
// address of their own, as real recipients do, so that one looks only at
// their own messages in the mailbox.
func recipientOf(n int64) client.Recipient {
	return client.Recipient{Name: "Bench Recipient", Phone: fmt.Sprintf("+4915%09d", n%1_000_000_000),
		Email: fmt.Sprintf("r%d@bench.example", n), Language: "en"}
}

// parcel takes parcel n through its whole life over the API and returns
// when its picked-up SMS was sent.
func (r *lifeRun) parcel(ctx context.Context, n int64, site *parcelguard.Site) (time.Time, error) {
	to := recipientOf(n)
	t0 := time.Now()
	x, err := r.net.carrier.AnnounceParcel(ctx, client.NewParcel{TrackingNumber: fmt.Sprintf("LIFE-%09d", n), Recipient: to,
		Size: string(parcelguard.SizeS), SiteID: site.ID})
	if err != nil {
		return time.Time{}, fmt.Errorf("announce: %w", err)
	}
	t1 := time.Now()
	if x, err = r.net.courier.Reserve(ctx, x.ID); err == nil {
		err = wantState(x, parcelguard.ParcelReserved)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("reserve: %w", err)
	}
	t2 := time.Now()
	if x, err = r.net.courier.Deposit(ctx, x.ID); err == nil {
		err = wantState(x, parcelguard.ParcelDeposited)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("deposit: %w", err)
	}
	t3 := time.Now()
	sms, err := r.net.recipients.await(ctx, to.Phone, parcelguard.MessageDeposit, t3)
	if err != nil {
		return time.Time{}, fmt.Errorf("deposit notice of %s: %w", x.ID, err)
	}
	pin, err := pinOf(sms.Text)
	if err != nil {
		return time.Time{}, fmt.Errorf("deposit notice of %s: %w", x.ID, err)
	}
	kiosk := r.net.kiosks[x.SiteID]
	if kiosk == nil {
		return time.Time{}, fmt.Errorf("parcel %s went to site %s, not one of the run's", x.ID, x.SiteID)
	}
	digits := parcelguard.Recipient{Phone: to.Phone}.PhoneDigits(parcelguard.PhoneFactorDigits)
	t4 := time.Now()
	res, err := kiosk.Pickup(ctx, x.SiteID, pin, digits)
	if err != nil {
		return time.Time{}, fmt.Errorf("pickup of %s: %w", x.ID, err)
	}
	if res.ParcelID != x.ID {
		return time.Time{}, fmt.Errorf("the PIN of %s opened %s", x.ID, res.ParcelID)
	}
	t5 := time.Now()
	done, err := r.net.recipients.await(ctx, to.Phone, parcelguard.MessagePickedUp, t5)
	if err != nil {
		return time.Time{}, fmt.Errorf("picked-up notice of %s: %w", x.ID, err)
	}
	for i, d := range [stepCount]time.Duration{t1.Sub(t0), t2.Sub(t1), t3.Sub(t2), sms.At.Sub(t3), t5.Sub(t4),
		done.At.Sub(t5), done.At.Sub(t0)} {
		r.steps[i].add(d)
	}
	return done.At, nil
}

// wantState checks the state of a parcel an API call answered with.
func wantState(x *client.Parcel, want parcelguard.ParcelState) error {
	if x.State != string(want) {
		return fmt.Errorf("parcel %s is %s, want %s", x.ID, x.State, want)
	}
	return nil
}
