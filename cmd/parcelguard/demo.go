package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/service"
)

func runDemo(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "demo", "Runs parcelguard on its embedded defaults with a seeded network — sites in three\ncountries, carriers, keys for every role and parcels in every locker state — and\nprints what to try. With no --data-dir it starts from a fresh temporary directory.")
	cfg, err := parseAppFlags(e, fs, args, "127.0.0.1:8080")
	if err != nil {
		return err
	}
	if !flagSet(fs, "data-dir") && e.getenv(envName("data-dir")) == "" {
		dir, err := os.MkdirTemp("", "parcelguard-demo-")
		if err != nil {
			return fmt.Errorf("create demo data directory: %w", err)
		}
		cfg.store.dataDir = dir
	}
	a, err := startApp(ctx, cfg)
	if err != nil {
		return err
	}
	seed, err := seedDemo(ctx, a)
	if err != nil {
		return errors.Join(fmt.Errorf("seed demo data: %w", err), a.stop())
	}
	web, err := seedWebDemo(ctx, a, a.publicURL)
	if err != nil {
		return errors.Join(fmt.Errorf("seed web demo: %w", err), a.stop())
	}
	printDemo(e.stdout, "http://"+a.addr, cfg.store.dataDir, seed)
	printWebDemo(e.stdout, a.publicURL, web)
	return a.serveUntilDone(ctx)
}

// demoSeed is what the demo created and prints.
type demoSeed struct {
	keys    [][2]string // role/name, token
	sites   [][2]string // name, id
	parcels [][4]string // state, tracking number, site, detail
}

type demoSite struct {
	site  parcelguard.Site
	phone string
}

// seedDemo creates the demo network through the use cases, so every row has
// its audit events. A second service on a clock four days back seeds the
// parcels whose storage has already run out; the real scheduler then expires
// them on its first pass.
func seedDemo(ctx context.Context, a *app) (*demoSeed, error) {
	sys := parcelguard.System
	past := service.New(service.Config{Store: a.store, Clock: parcelguard.NewManualClock(time.Now().Add(-96 * time.Hour)), Keys: a.keys})
	seed := &demoSeed{}
	sites := []demoSite{
		{parcelguard.Site{Name: "Warszawa Centralna", Address: "Aleje Jerozolimskie 54, 00-024 Warszawa", Lat: 52.2289, Lon: 21.0031, TimeZone: "Europe/Warsaw", OpeningHours: "24/7"}, "+48600100200"},
		{parcelguard.Site{Name: "München Hauptbahnhof", Address: "Bayerstraße 10A, 80335 München", Lat: 48.1402, Lon: 11.5600, TimeZone: "Europe/Berlin", OpeningHours: "Mo-Sa 06:00-22:00"}, "+4915112345678"},
		{parcelguard.Site{Name: "Milano Centrale", Address: "Piazza Duca d'Aosta 1, 20124 Milano", Lat: 45.4862, Lon: 9.2046, TimeZone: "Europe/Rome", OpeningHours: "24/7"}, "+393471234567"},
	}
	carrier, err := a.svc.CreateCarrier(ctx, sys, parcelguard.Carrier{Name: "Poczta Express", PhoneFactor: true})
	if err != nil {
		return nil, err
	}
	if _, err := a.svc.CreateCarrier(ctx, sys, parcelguard.Carrier{Name: "AlpenPaket", PhoneFactor: true, StoragePeriod: 48 * time.Hour}); err != nil {
		return nil, err
	}
	key := func(name string, in service.NewAPIKeyInput) error {
		in.Name = name
		token, _, err := a.svc.CreateAPIKey(ctx, sys, in)
		seed.keys = append(seed.keys, [2]string{name, token})
		return err
	}
	for _, k := range []struct {
		name string
		in   service.NewAPIKeyInput
	}{
		{"admin", service.NewAPIKeyInput{Role: parcelguard.RoleAdmin}},
		{"operator", service.NewAPIKeyInput{Role: parcelguard.RoleOperator}},
		{"carrier (Poczta Express)", service.NewAPIKeyInput{Role: parcelguard.RoleCarrier, CarrierID: carrier.ID}},
		{"courier (Poczta Express)", service.NewAPIKeyInput{Role: parcelguard.RoleCourier, CarrierID: carrier.ID}},
	} {
		if err := key(k.name, k.in); err != nil {
			return nil, err
		}
	}
	carrierP := parcelguard.Principal{Role: parcelguard.RoleCarrier, CarrierID: carrier.ID, KeyPrefix: "demo"}
	courierP := parcelguard.Principal{Role: parcelguard.RoleCourier, CarrierID: carrier.ID, KeyPrefix: "demo"}
	n := 0
	for _, ds := range sites {
		site, err := a.svc.CreateSite(ctx, sys, ds.site)
		if err != nil {
			return nil, err
		}
		seed.sites = append(seed.sites, [2]string{site.Name, site.ID})
		for i, size := range []parcelguard.SizeClass{"S", "S", "S", "S", "M", "M", "M", "L", "L", "XL"} {
			if _, err := a.svc.AddCompartment(ctx, sys, parcelguard.Compartment{SiteID: site.ID, Label: fmt.Sprintf("A%d", i+1), Size: size}); err != nil {
				return nil, err
			}
		}
		if err := key("kiosk ("+site.Name+")", service.NewAPIKeyInput{Role: parcelguard.RoleKiosk, SiteID: site.ID}); err != nil {
			return nil, err
		}
		// One parcel per locker state; the steps list how far each goes.
		for _, plan := range []struct {
			state string
			steps int
			svc   *service.Service
		}{{"announced", 0, a.svc}, {"reserved", 1, a.svc}, {"deposited", 2, a.svc}, {"deposited", 2, a.svc}, {"picked_up", 3, a.svc}, {"expired", 2, past}} {
			n++
			p, err := plan.svc.Announce(ctx, carrierP, parcelguard.Parcel{TrackingNumber: fmt.Sprintf("PX-%06d", 100000+n), Size: "S", SiteID: site.ID,
				Recipient: parcelguard.Recipient{Name: "Demo Recipient", Phone: ds.phone, Email: "recipient@example.com", Language: "en"}})
			if err != nil {
				return nil, err
			}
			detail := ""
			if plan.steps >= 1 {
				if p, err = plan.svc.Reserve(ctx, courierP, p.ID); err != nil {
					return nil, err
				}
			}
			if plan.steps >= 2 {
				if p, err = plan.svc.Deposit(ctx, courierP, p.ID); err != nil {
					return nil, err
				}
				pin, _, err := plan.svc.PickupCode(ctx, p.ID)
				if err != nil {
					return nil, err
				}
				detail = fmt.Sprintf("PIN %s + phone digits %s", pin, parcelguard.Recipient{Phone: ds.phone}.PhoneDigits(4))
				if plan.steps == 3 {
					kiosk := parcelguard.Principal{Role: parcelguard.RoleKiosk, SiteID: site.ID}
					if _, err := a.svc.Pickup(ctx, kiosk, site.ID, pin, parcelguard.Recipient{Phone: ds.phone}.PhoneDigits(4)); err != nil {
						return nil, err
					}
					detail = "collected by the recipient"
				}
			}
			if plan.state == "expired" {
				detail = "storage ran out; in the return queue"
			}
			seed.parcels = append(seed.parcels, [4]string{plan.state, p.TrackingNumber, site.Name, detail})
		}
	}
	if _, err := a.svc.FireDueTimers(ctx); err != nil {
		return nil, err
	}
	return seed, nil
}

func printDemo(w io.Writer, base, dataDir string, seed *demoSeed) {
	fmt.Fprintf(w, "parcelguard demo listening on %s  (data in %s)\n\n", base, dataDir)
	fmt.Fprintf(w, "API reference: %s/docs   OpenAPI: %s/openapi.json   metrics: %s/metrics\n\n", base, base, base)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "API KEY\tTOKEN (shown once; only hashes are stored)")
	for _, k := range seed.keys {
		fmt.Fprintf(tw, "%s\t%s\n", k[0], k[1])
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LOCKER\tSITE ID")
	for _, s := range seed.sites {
		fmt.Fprintf(tw, "%s\t%s\n", s[0], s[1])
	}
	tw.Flush()
	fmt.Fprintln(w, "\nParcels (demo only: in production the PIN reaches just the recipient):")
	tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STATE\tTRACKING\tLOCKER\tDETAIL")
	for _, p := range seed.parcels {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p[0], p[1], p[2], p[3])
	}
	tw.Flush()
	fmt.Fprintln(w, "\nTry: curl -H 'Authorization: Bearer <carrier key>' "+base+"/v1/parcels")
	fmt.Fprintln(w, "     curl -H 'Authorization: Bearer <kiosk key>' -d '{\"pin\":\"<PIN>\",\"phone_digits\":\"<digits>\"}' "+base+"/v1/sites/<site id>/pickup")
	fmt.Fprintln(w, "\nEvery message (deposit notices with PIN and QR code, reminders, expiry notices, carrier")
	fmt.Fprintln(w, "webhooks) lands in the local mailbox: curl -H 'Authorization: Bearer <operator key>' "+base+"/v1/mailbox")
}
