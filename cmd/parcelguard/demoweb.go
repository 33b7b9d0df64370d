package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/service"
)

// webDemo is what the demo prints to try the web apps.
type webDemo struct {
	// links are tracking number, state and magic link of seeded parcels.
	links [][3]string
	// signins are app, user name and password of seeded accounts.
	signins [][3]string
}

// seedWebDemo mints recipient links for the seeded parcels a recipient
// would still look at, and seeds the web sign-ins.
func seedWebDemo(ctx context.Context, a *app, base string) (*webDemo, error) {
	d := &webDemo{}
	for _, st := range []parcelguard.ParcelState{parcelguard.ParcelDeposited, parcelguard.ParcelReserved} {
		ps, err := a.svc.Parcels(ctx, parcelguard.System, parcelguard.ParcelFilter{State: st, Limit: 100})
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			tok, err := a.svc.RecipientLink(ctx, p.ID)
			if err != nil {
				return nil, err
			}
			d.links = append(d.links, [3]string{p.TrackingNumber, string(p.State), base + "/track#" + tok})
		}
	}
	if err := seedDoorstepDemo(ctx, a, base, d); err != nil {
		return nil, err
	}
	return d, seedAccounts(ctx, a, d)
}

// demoDoor is where the demo's doorstep parcels go (near Warszawa
// Centralna); the browser tests type it as the courier's position.
var demoDoor = struct {
	address  string
	lat, lon float64
}{"ul. Złota 59, 00-120 Warszawa", 52.2300, 21.0030}

// seedDoorstepDemo adds a second locker in Warsaw and doorstep deliveries: two out for delivery today
// (each with its password on the tracking page) and one rescheduled after
// a failed attempt, with an offline handover record that did not match.
func seedDoorstepDemo(ctx context.Context, a *app, base string, d *webDemo) error {
	ps, err := a.svc.Parcels(ctx, parcelguard.System, parcelguard.ParcelFilter{Limit: 1})
	if err != nil || len(ps) == 0 {
		return fmt.Errorf("no seeded parcel to find the demo carrier: %w", err)
	}
	// A second locker near Warszawa Centralna, for moving a parcel there.
	near, err := a.svc.CreateSite(ctx, parcelguard.System, parcelguard.Site{Name: "Warszawa Złote Tarasy",
		Address: "ul. Złota 59, 00-120 Warszawa", Lat: 52.2302, Lon: 21.0025, TimeZone: "Europe/Warsaw", OpeningHours: "Mo-Su 07:00-23:00"})
	if err != nil {
		return err
	}
	for i, size := range []parcelguard.SizeClass{"S", "S", "M", "M", "L"} {
		if _, err := a.svc.AddCompartment(ctx, parcelguard.System, parcelguard.Compartment{SiteID: near.ID, Label: fmt.Sprintf("B%d", i+1), Size: size}); err != nil {
			return err
		}
	}
	carrier := parcelguard.Principal{Role: parcelguard.RoleCarrier, CarrierID: ps[0].CarrierID, KeyPrefix: "demo"}
	courier := parcelguard.Principal{Role: parcelguard.RoleCourier, CarrierID: ps[0].CarrierID, KeyPrefix: "demo"}
	at := service.Position{Lat: demoDoor.lat, Lon: demoDoor.lon}
	for i, final := range []parcelguard.ParcelState{parcelguard.ParcelOutForDelivery, parcelguard.ParcelOutForDelivery, parcelguard.ParcelRescheduled} {
		x, err := a.svc.AnnounceDoorstep(ctx, carrier, service.DoorstepAnnouncement{
			Parcel: parcelguard.Parcel{TrackingNumber: fmt.Sprintf("PX-%06d", 200001+i), Size: parcelguard.SizeM,
				Recipient: parcelguard.Recipient{Name: "Demo Recipient", Phone: "+48600100200", Email: "recipient@example.com", Language: "en"}},
			Address: demoDoor.address, Lat: demoDoor.lat, Lon: demoDoor.lon, TimeZone: "Europe/Warsaw", Country: "PL", PasswordFlag: true})
		if err != nil {
			return err
		}
		id := x.Parcel.ID
		if _, err := a.svc.OutForDelivery(ctx, courier, id, i+1); err != nil {
			return err
		}
		if final == parcelguard.ParcelRescheduled {
			if _, err := a.svc.FailAttempt(ctx, courier, id, parcelguard.ReasonNotAtHome, at); err != nil {
				return err
			}
			if _, err := a.svc.SubmitOffline(ctx, courier, id, service.OfflineInput{Password: "000000", Position: at,
				RecordedAt: time.Now()}); err != nil {
				return err
			}
		}
		tok, err := a.svc.RecipientLink(ctx, id)
		if err != nil {
			return err
		}
		d.links = append(d.links, [3]string{x.Parcel.TrackingNumber, string(final), base + "/track#" + tok})
	}
	return nil
}

func printWebDemo(w io.Writer, base string, d *webDemo) {
	fmt.Fprintln(w, "\nWeb apps:")
	fmt.Fprintf(w, "  operator console  %s/console/\n", base)
	fmt.Fprintf(w, "  courier app       %s/courier/\n", base)
	fmt.Fprintf(w, "  recipient page    %s/track#<link token> (the link in every message)\n", base)
	if len(d.signins) > 0 {
		tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		fmt.Fprintln(w)
		fmt.Fprintln(tw, "SIGN-IN\tUSER\tPASSWORD (demo only; only hashes are stored)")
		for _, s := range d.signins {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", s[0], s[1], s[2])
		}
		tw.Flush()
	}
	fmt.Fprintln(w, "\nRecipient tracking links (each opens one parcel's page):")
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TRACKING\tSTATE\tLINK")
	for _, l := range d.links {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", l[0], l[1], l[2])
	}
	tw.Flush()
	fmt.Fprintln(w, "\nStop with Ctrl-C.")
}

// seedAccounts creates the demo's operator and courier sign-ins with
// fresh random passwords (printed by the demo, stored only as hashes).
func seedAccounts(ctx context.Context, a *app, d *webDemo) error {
	ps, err := a.svc.Parcels(ctx, parcelguard.System, parcelguard.ParcelFilter{Limit: 1})
	if err != nil || len(ps) == 0 {
		return fmt.Errorf("no seeded parcel to find the demo carrier: %w", err)
	}
	for _, acc := range []struct {
		app, user string
		role      parcelguard.Role
		carrier   string
	}{
		{"console", "operator", parcelguard.RoleOperator, ""},
		{"courier", "courier", parcelguard.RoleCourier, ps[0].CarrierID},
	} {
		pw := rand.Text()
		if _, err := a.svc.CreateAccount(ctx, parcelguard.System, service.NewAccountInput{Username: acc.user, Name: "Demo " + acc.user,
			Password: pw, Role: acc.role, CarrierID: acc.carrier}); err != nil {
			return err
		}
		d.signins = append(d.signins, [3]string{acc.app, acc.user, pw})
	}
	return nil
}
