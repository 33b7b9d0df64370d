package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/parcelguard/parcelguard"
)

// webDemo is what the demo prints to try the web apps.
type webDemo struct {
	// links are tracking number, state and magic link of seeded parcels.
	links [][3]string
	// signins are app, user name and password of seeded accounts.
	signins [][3]string
}

// seedWebDemo mints recipient links for the seeded parcels a recipient
// would still look at; the accounts are seeded by seedAccounts.
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
	return d, nil
}

func printWebDemo(w io.Writer, base string, d *webDemo) {
	fmt.Fprintln(w, "\nWeb apps:")
	fmt.Fprintf(w, "  operator console  %s/console/\n", base)
	fmt.Fprintf(w, "  courier app       %s/courier/\n", base)
	fmt.Fprintf(w, "  recipient page    %s/track#<link token> (the link in every message)\n", base)
	if len(d.signins) > 0 {
		tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "\nSIGN-IN\tUSER\tPASSWORD (demo only)")
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
