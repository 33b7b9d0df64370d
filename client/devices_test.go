package client_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/client"
)

// Ensure the locker calls reach the API: the list shows a provisioned
// locker, a remote open and a configuration are queued, and a bad setting
// comes back as a *client.Error naming the field.
func TestLockerCalls(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx
	k := must[*client.APIKeyCreated](t)(e.admin.CreateAPIKey(ctx, client.NewAPIKey{Role: "operator"}))
	ops := e.admin.WithToken(k.Token)
	site := must[*client.Site](t)(ops.CreateSite(ctx, client.NewSite{Name: "A", Address: "A 1", Lat: 52.2288, Lon: 21.0031}))
	cmp := must[*client.Compartment](t)(ops.AddCompartment(ctx, site.ID, client.NewCompartment{Label: "A1", Size: "M"}))
	if _, err := e.svc.ProvisionLocker(ctx, parcelguard.System, site.ID, "locker-a", "$2a$10$hash"); err != nil {
		t.Fatal(err)
	}
	ls := must[[]client.Locker](t)(ops.Lockers(ctx))
	if len(ls) != 1 || ls[0].SiteID != site.ID || ls[0].Reachability != client.LockerNeverSeen {
		t.Fatalf("lockers %+v", ls)
	}
	if o := must[*client.RemoteOpen](t)(ops.RemoteOpen(ctx, cmp.ID, "recipient at the locker")); o.State != "queued" || o.CompartmentID != cmp.ID {
		t.Fatalf("remote open %+v", o)
	}
	if c := must[*client.LockerConfig](t)(ops.ConfigureLocker(ctx, site.ID, map[string]string{"heartbeat_seconds": "45"})); c.Settings["heartbeat_seconds"] != "45" {
		t.Fatalf("config %+v", c)
	}
	_, err := ops.ConfigureLocker(ctx, site.ID, map[string]string{"open_all": "1"})
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != 422 || len(ce.Fields) != 1 || !strings.HasSuffix(ce.Fields[0].Location, "settings.open_all") {
		t.Fatalf("bad setting: %#v", err)
	}
	if ls := must[[]client.Locker](t)(ops.Lockers(ctx)); ls[0].PendingCommands != 2 {
		t.Fatalf("pending %+v", ls)
	}
}
