package client_test

import (
	"errors"
	"testing"

	"github.com/parcelguard/parcelguard/client"
)

// Ensure the client drives the network operations: search without a
// token, site and carrier updates, redirects, manifest, problem reports,
// delegate codes, key listing and revocation.
func TestNetworkCalls(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx
	key := func(in client.NewAPIKey) (*client.Client, string) {
		k := must[*client.APIKeyCreated](t)(e.admin.CreateAPIKey(ctx, in))
		return e.admin.WithToken(k.Token), k.Prefix
	}
	ops, _ := key(client.NewAPIKey{Role: "operator"})
	a := must[*client.Site](t)(ops.CreateSite(ctx, client.NewSite{Name: "A", Address: "A 1", Lat: 52.2288, Lon: 21.0031}))
	b := must[*client.Site](t)(ops.CreateSite(ctx, client.NewSite{Name: "B", Address: "B 1", Lat: 52.2300, Lon: 21.0050}))
	for _, s := range []string{a.ID, b.ID} {
		must[*client.Compartment](t)(ops.AddCompartment(ctx, s, client.NewCompartment{Label: "A1", Size: "M"}))
		must[*client.Compartment](t)(ops.AddCompartment(ctx, s, client.NewCompartment{Label: "A2", Size: "M"}))
	}
	anon := e.admin.WithToken("")
	found := must[[]client.SiteMatch](t)(anon.SearchSites(ctx, client.SiteQuery{Lat: 52.2288, Lon: 21.0031, RadiusM: 500, Size: "M"}))
	if len(found) != 2 || found[0].ID != a.ID || found[0].FreeCompartments["M"] != 2 {
		t.Fatalf("search %+v", found)
	}
	hours := "24/7"
	if s := must[*client.Site](t)(ops.UpdateSite(ctx, b.ID, b.Version, client.SiteUpdate{OpeningHours: &hours})); s.OpeningHours != "24/7" {
		t.Fatalf("site %+v", s)
	}
	carrier := must[*client.Carrier](t)(ops.CreateCarrier(ctx, client.NewCarrier{Name: "PostNord"}))
	mode, dist := "propose", 1000
	if c := must[*client.CarrierDetail](t)(ops.UpdateCarrier(ctx, carrier.ID, carrier.Version, client.CarrierUpdate{Fallback: &mode, FallbackMaxDistanceM: &dist})); c.Fallback != "propose" {
		t.Fatalf("carrier %+v", c)
	}
	if page := must[*client.Page[client.CarrierDetail]](t)(ops.Carriers(ctx, "")); len(page.Items) != 1 {
		t.Fatalf("carriers %+v", page)
	}
	shop, _ := key(client.NewAPIKey{Role: "carrier", CarrierID: carrier.ID})
	courier, courierPrefix := key(client.NewAPIKey{Role: "courier", CarrierID: carrier.ID})
	x := must[*client.Parcel](t)(shop.AnnounceParcel(ctx, client.NewParcel{TrackingNumber: "PG-NET-1", Size: "M", SiteID: a.ID,
		Recipient: client.Recipient{Name: "Anna Nowak", Phone: "+48600100200"}}))
	if x = must[*client.Parcel](t)(shop.RedirectParcel(ctx, x.ID, b.ID)); x.SiteID != b.ID || x.State != "redirected" {
		t.Fatalf("redirected %+v", x)
	}
	must[*client.Parcel](t)(courier.Reserve(ctx, x.ID))
	m := must[*client.Manifest](t)(courier.CourierManifest(ctx))
	if len(m.Lockers) != 1 || m.Lockers[0].Site.ID != b.ID || len(m.Lockers[0].Deposits) != 1 {
		t.Fatalf("manifest %+v", m)
	}
	x = must[*client.Parcel](t)(courier.ReportCompartmentProblem(ctx, x.ID, "door jammed"))
	x = must[*client.Parcel](t)(courier.Deposit(ctx, x.ID))

	link, err := e.svc.RecipientLink(ctx, x.ID)
	if err != nil {
		t.Fatal(err)
	}
	rcp := e.admin.WithToken(link)
	d := must[*client.Delegate](t)(rcp.CreateDelegate(ctx, client.NewDelegate{Name: "Jan", Phone: "+48600100999"}))
	if ds := must[[]client.Delegate](t)(rcp.Delegates(ctx)); len(ds) != 1 || ds[0].ID != d.ID {
		t.Fatalf("delegates %+v", ds)
	}
	if r := must[*client.Delegate](t)(rcp.RevokeDelegate(ctx, d.ID)); r.State != "revoked" {
		t.Fatalf("revoked %+v", r)
	}
	keys := must[*client.Page[client.APIKey]](t)(e.admin.APIKeys(ctx, carrier.ID, ""))
	if len(keys.Items) != 2 {
		t.Fatalf("keys %+v", keys.Items)
	}
	must[*client.APIKey](t)(e.admin.RevokeAPIKey(ctx, courierPrefix))
	_, err = courier.CourierManifest(ctx)
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != 401 {
		t.Fatalf("revoked key: %v", err)
	}
}

// Ensure conditional changes through the client: the version read is the
// one changed, a stale one is ErrStaleVersion and changes nothing,
// AnyVersion overwrites; and sites and compartments leave the network.
func TestVersionsAndDecommission(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx
	k := must[*client.APIKeyCreated](t)(e.admin.CreateAPIKey(ctx, client.NewAPIKey{Role: "operator"}))
	ops := e.admin.WithToken(k.Token)
	s := must[*client.Site](t)(ops.CreateSite(ctx, client.NewSite{Name: "A", Address: "A 1", Lat: 52.2288, Lon: 21.0031}))
	name := "First"
	first := must[*client.Site](t)(ops.UpdateSite(ctx, s.ID, s.Version, client.SiteUpdate{Name: &name}))
	lost := "Lost"
	if _, err := ops.UpdateSite(ctx, s.ID, s.Version, client.SiteUpdate{Name: &lost}); !errors.Is(err, client.ErrStaleVersion) {
		t.Fatalf("stale change: %v, want ErrStaleVersion", err)
	}
	if got := must[*client.Site](t)(ops.Site(ctx, s.ID)); got.Name != "First" || got.Version != first.Version {
		t.Fatalf("site after a stale change %+v", got)
	}
	over := "Over"
	if got := must[*client.Site](t)(ops.UpdateSite(ctx, s.ID, client.AnyVersion, client.SiteUpdate{Name: &over})); got.Name != "Over" {
		t.Fatalf("AnyVersion change %+v", got)
	}

	c := must[*client.Compartment](t)(ops.AddCompartment(ctx, s.ID, client.NewCompartment{Label: "A1", Size: "M"}))
	if got := must[*client.Compartment](t)(ops.RemoveCompartment(ctx, c.ID)); got.State != "removed" {
		t.Fatalf("removed compartment %+v", got)
	}
	if got := must[*client.Site](t)(ops.DecommissionSite(ctx, s.ID)); got.DecommissionedAt.IsZero() {
		t.Fatalf("decommissioned site %+v", got)
	}
	if _, err := ops.UpdateSite(ctx, s.ID, client.AnyVersion, client.SiteUpdate{Name: &name}); !errors.Is(err, client.ErrConflict) {
		t.Fatalf("change of a decommissioned site: %v, want ErrConflict", err)
	}
}
