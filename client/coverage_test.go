package client_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/client"
	"github.com/parcelguard/parcelguard/code"
	pghttp "github.com/parcelguard/parcelguard/http"
	"github.com/parcelguard/parcelguard/notify"
	"github.com/parcelguard/parcelguard/service"
	"github.com/parcelguard/parcelguard/sqlite"
)

// clientMethods names the client method of every operation of the API.
// An operation the server gains without a client method, or a method
// named here that the client lost, fails TestClientCoversEveryOperation.
var clientMethods = map[string]string{
	"healthz": "Healthz", "readyz": "Readyz",
	"searchSites": "SearchSites", "createSite": "CreateSite", "getSite": "Site", "updateSite": "UpdateSite",
	"decommissionSite": "DecommissionSite",
	"addCompartment":   "AddCompartment", "listCompartments": "Compartments", "updateCompartment": "SetCompartmentState",
	"removeCompartment": "RemoveCompartment", "listReturns": "ReturnQueue",
	"pickup": "Pickup", "pickupQR": "PickupQR",
	"createCarrier": "CreateCarrier", "listCarriers": "Carriers", "updateCarrier": "UpdateCarrier",
	"createAPIKey": "CreateAPIKey", "listAPIKeys": "APIKeys", "revokeAPIKey": "RevokeAPIKey",
	"announceParcel": "AnnounceParcel", "listParcels": "ListParcels", "getParcel": "Parcel",
	"listParcelEvents": "ParcelEvents", "cancelParcel": "CancelParcel", "redirectParcel": "RedirectParcel",
	"reserveCompartment": "Reserve", "depositParcel": "Deposit", "issueDepositCode": "IssueDepositCode", "collectParcel": "Collect", "returnParcel": "MarkReturned",
	"reportCompartmentProblem": "ReportCompartmentProblem", "courierManifest": "CourierManifest",
	"listMailbox": "Mailbox",
	"track":       "Track", "trackCode": "TrackCode", "extendDeadline": "ExtendDeadline", "trackRedirect": "TrackRedirect",
	"listDelegates": "Delegates", "createDelegate": "CreateDelegate", "revokeDelegate": "RevokeDelegate",
	"getDoorstepPolicy": "DoorstepPolicy", "setDoorstepPolicy": "SetDoorstepPolicy",
	"announceDoorstep": "AnnounceDoorstep", "getDoorstep": "Doorstep", "outForDelivery": "OutForDelivery",
	"verifyDoorstep": "VerifyDoorstep", "failDoorstepAttempt": "FailAttempt", "submitOfflineHandover": "SubmitOffline",
	"listOfflineHandovers": "OfflineEntries", "doorstepManifest": "DoorstepManifest", "trackDoorstep": "TrackDoorstep",
	"createDoorstepDelegate": "CreateDoorstepDelegate", "revokeDoorstepDelegate": "RevokeDoorstepDelegate",
	"listLockers": "Lockers", "remoteOpen": "RemoteOpen", "configureLocker": "ConfigureLocker",
}

// Ensure the client has a method for every operation of the OpenAPI
// document of a server with every optional route (the mailbox), and the
// list names no operation the server lacks.
func TestClientCoversEveryOperation(t *testing.T) {
	ctx := t.Context()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "pg.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	keys, err := code.GenerateKeyring()
	if err != nil {
		t.Fatal(err)
	}
	clock := parcelguard.NewManualClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	svc := service.New(service.Config{Store: store, Clock: clock, Keys: keys})
	srv := httptest.NewServer(pghttp.NewServer(pghttp.Config{Service: svc, Store: store, Logger: slog.New(slog.DiscardHandler),
		Mailbox: notify.NewMailbox(store, keys, clock)}))
	t.Cleanup(srv.Close)

	res, err := srv.Client().Get(srv.URL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
		} `json:"paths"`
	}
	if err := json.NewDecoder(res.Body).Decode(&doc); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("openapi.json: %d %v", res.StatusCode, err)
	}
	c := reflect.TypeFor[*client.Client]()
	var ops []string
	for path, methods := range doc.Paths {
		for method, op := range methods {
			ops = append(ops, op.OperationID)
			name, ok := clientMethods[op.OperationID]
			switch {
			case !ok:
				t.Errorf("%s %s (%s) has no client method", method, path, op.OperationID)
			case !hasMethod(c, name):
				t.Errorf("%s %s (%s): the client has no method %s", method, path, op.OperationID, name)
			}
		}
	}
	for id := range clientMethods {
		if !slices.Contains(ops, id) {
			t.Errorf("client method list names %s, which the API does not have", id)
		}
	}

	// The one call a server needs a mailbox for works.
	token, _, err := svc.CreateAPIKey(ctx, parcelguard.System, service.NewAPIKeyInput{Role: parcelguard.RoleOperator})
	if err != nil {
		t.Fatal(err)
	}
	ops2, err := client.New(srv.URL, client.WithToken(token), client.WithHTTPClient(srv.Client()))
	if err != nil {
		t.Fatal(err)
	}
	if page, err := ops2.Mailbox(ctx, client.MailboxQuery{Limit: 10}); err != nil || len(page.Items) != 0 {
		t.Fatalf("mailbox: %+v %v", page, err)
	}
}

func hasMethod(t reflect.Type, name string) bool {
	_, ok := t.MethodByName(name)
	return ok
}
