package service_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/devicemsg"
	"github.com/parcelguard/parcelguard/service"
)

// publisher stands in for the device channel: it records what it is
// given and fails the commands named in fail.
type publisher struct {
	mu    sync.Mutex
	calls [][]string // command ids, per call
	fail  map[string]bool
}

func (p *publisher) PublishCommands(_ context.Context, out []devicemsg.Outgoing) []error {
	p.mu.Lock()
	defer p.mu.Unlock()
	errs := make([]error, len(out))
	var ids []string
	for i, o := range out {
		cmd, err := devicemsg.DecodeCommand(o.Command.Command)
		if err != nil || cmd.LockerID != o.LockerID {
			errs[i] = errors.New("bad command")
			continue
		}
		ids = append(ids, cmd.ID)
		if p.fail[cmd.ID] {
			errs[i] = errors.New("stream unavailable")
		}
	}
	p.calls = append(p.calls, ids)
	return errs
}

// viewCounter counts read transactions.
type viewCounter struct {
	parcelguard.Store
	n atomic.Int32
}

func (v *viewCounter) View(ctx context.Context, fn func(parcelguard.Tx) error) error {
	v.n.Add(1)
	return v.Store.View(ctx, fn)
}

// Ensure a dispatch pass publishes its batch in one go, oldest first,
// marks what went out sent, leaves a command whose publish failed pending
// for a later retry, skips (and marks) a grant.new whose grant ended
// before it went out, and that the retry sends only the failed command.
func TestDispatchDeviceCommandsBatch(t *testing.T) {
	f := newFixture(t, parcelguard.SizeS, parcelguard.SizeS, parcelguard.SizeS)
	f.provisionLocker()
	f.deposited("TRK-0001")
	f.deposited("TRK-0002")
	gone, pin := f.deposited("TRK-0003")
	_, g, err := f.svc.PickupCode(f.ctx, gone.ID)
	if err != nil {
		t.Fatal(err)
	}
	must(f.svc.Pickup(f.ctx, f.kiosk, f.site.ID, pin, "5678"))(t)
	if f.parcel(gone.ID).State != parcelguard.ParcelPickedUp {
		t.Fatal("TRK-0003 not picked up")
	}

	pending := f.commands(parcelguard.DeviceCommandPending)
	var (
		want    []string // every command but the skipped one, oldest first
		skipped string   // the grant.new of the picked-up parcel's pickup grant
		failing string
	)
	for _, c := range pending {
		if c.Kind == parcelguard.DeviceGrantNew && c.GrantID == g.ID {
			skipped = c.ID
			continue
		}
		want = append(want, c.ID)
	}
	if skipped == "" || len(want) < 3 {
		t.Fatalf("setup: %d pending commands, skipped %q", len(pending), skipped)
	}
	failing = want[1]
	pub := &publisher{fail: map[string]bool{failing: true}}

	// The batch's grants are read in one transaction, not one per command.
	views := &viewCounter{Store: f.db}
	svc := service.New(service.Config{Store: views, Clock: f.clock, Keys: f.keys})
	n, err := svc.DispatchDeviceCommands(f.ctx, pub)
	if err != nil {
		t.Fatal(err)
	}
	if n != len(want)-1 {
		t.Fatalf("%d sent, want %d", n, len(want)-1)
	}
	if v := views.n.Load(); v != 1 {
		t.Errorf("%d read transactions for a batch of %d commands, want 1", v, len(pending))
	}
	if len(pub.calls) != 1 || strings.Join(pub.calls[0], ",") != strings.Join(want, ",") {
		t.Fatalf("published %v, want one call with %v", pub.calls, want)
	}
	still := f.commands(parcelguard.DeviceCommandPending)
	if len(still) != 1 || still[0].ID != failing || still[0].Attempts != 1 ||
		!strings.Contains(still[0].LastError, "stream unavailable") || !still[0].DueAt.After(f.clock.Now()) {
		t.Fatalf("pending after the pass: %+v, want only %s, due later, with its error", still, failing)
	}
	if got := len(f.commands(parcelguard.DeviceCommandSent)); got != len(pending)-1 {
		t.Fatalf("%d sent commands, want %d (the skipped one included)", got, len(pending)-1)
	}

	if n, err := f.svc.DispatchDeviceCommands(f.ctx, pub); err != nil || n != 0 || len(pub.calls) != 1 {
		t.Fatalf("before the retry is due: %d, %v, %d calls", n, err, len(pub.calls))
	}
	f.clock.Advance(still[0].DueAt.Sub(f.clock.Now()))
	delete(pub.fail, failing)
	if n, err := f.svc.DispatchDeviceCommands(f.ctx, pub); err != nil || n != 1 || strings.Join(pub.calls[1], ",") != failing {
		t.Fatalf("the retry: %d, %v, published %v", n, err, pub.calls[1:])
	}
	if left := f.commands(parcelguard.DeviceCommandPending); len(left) != 0 {
		t.Fatalf("%d commands still pending", len(left))
	}
}
