package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"text/tabwriter"

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
	return d, seedAccounts(ctx, a, d)
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
