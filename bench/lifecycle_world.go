package bench

import (
	"context"
	"fmt"
	"sync"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/client"
	"github.com/parcelguard/parcelguard/service"
)

// seedCalls is how many use cases the network's seeding runs at once.
const seedCalls = 8

// lifeNetwork is a sustained run's network, made through the use cases,
// and the API clients of the people who use it.
type lifeNetwork struct {
	w *world // the carrier and the sites; no parcels
	// compartments is how many each site has.
	compartments int
	carrier      *client.Client // announces
	courier      *client.Client // reserves and deposits
	kiosks       map[string]*client.Client
	recipients   *recipients // read their SMS in the mailbox
	closeIdle    func()
}

// newLifeNetwork creates the carrier and the sites, and compartments
// enough that no worker ever finds its locker full: each worker keeps to
// one site and has at most one parcel in it at a time, and a pickup frees
// the compartment, so the network recycles for any duration.
func newLifeNetwork(ctx context.Context, s *Service, workers int) (*lifeNetwork, error) {
	w, err := newWorld(ctx, s.Svc, s.Store, 0)
	if err != nil {
		return nil, fmt.Errorf("network: %w", err)
	}
	n := &lifeNetwork{w: w, compartments: (workers + len(w.sites) - 1) / len(w.sites)}
	if err := n.addCompartments(ctx, s.Svc); err != nil {
		return nil, err
	}
	base, closeIdle, err := baseClient(s, workers)
	if err != nil {
		return nil, err
	}
	n.closeIdle = closeIdle
	keys := []struct {
		to *client.Client
		in service.NewAPIKeyInput
	}{
		{in: service.NewAPIKeyInput{Role: parcelguard.RoleCarrier, CarrierID: w.carrier.ID, Name: "bench carrier"}},
		{in: service.NewAPIKeyInput{Role: parcelguard.RoleCourier, CarrierID: w.carrier.ID, Name: "bench courier"}},
		{in: service.NewAPIKeyInput{Role: parcelguard.RoleOperator, Name: "bench mailbox reader"}},
	}
	for i := range keys {
		if keys[i].to, err = keyed(ctx, s, base, keys[i].in); err != nil {
			closeIdle()
			return nil, err
		}
	}
	n.carrier, n.courier, n.recipients = keys[0].to, keys[1].to, newRecipients(keys[2].to)
	n.kiosks = map[string]*client.Client{}
	for _, site := range w.sites {
		if n.kiosks[site.ID], err = keyed(ctx, s, base, service.NewAPIKeyInput{Role: parcelguard.RoleKiosk, SiteID: site.ID, Name: "bench kiosk"}); err != nil {
			closeIdle()
			return nil, err
		}
	}
	return n, nil
}

// addCompartments adds each site's compartments through the use case, so
// they have their audit events as an operator's would.
func (n *lifeNetwork) addCompartments(ctx context.Context, svc *service.Service) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		next = make(chan parcelguard.Compartment)
	)
	for range seedCalls {
		wg.Go(func() {
			for c := range next {
				if _, err := svc.AddCompartment(ctx, parcelguard.System, c); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	for _, site := range n.w.sites {
		for i := range n.compartments {
			next <- parcelguard.Compartment{SiteID: site.ID, Label: fmt.Sprintf("L%d", i+1), Size: parcelguard.SizeM}
		}
	}
	close(next)
	wg.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("add compartments (%d failed): %w", len(errs), errs[0])
	}
	return nil
}

// siteOf is the site worker w brings its parcels to.
func (n *lifeNetwork) siteOf(w int) *parcelguard.Site { return n.w.sites[w%len(n.w.sites)] }

func (n *lifeNetwork) siteIDs() []string {
	ids := make([]string, len(n.w.sites))
	for i, s := range n.w.sites {
		ids[i] = s.ID
	}
	return ids
}
