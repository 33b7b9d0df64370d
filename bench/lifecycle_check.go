package bench

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/audit"
)

// checkPage is how many rows one read of the checker returns.
const checkPage = 1000

// maxExamples bounds the violations a check describes.
const maxExamples = 5

// Invariant names, in the order they are reported.
const (
	CheckPickedUp      = "parcels_picked_up"
	CheckPickedUpOnce  = "picked_up_once"
	CheckGrantOnce     = "grant_opened_once"
	CheckNoticesOnce   = "notices_once"
	CheckMailbox       = "mailbox_matches_outbox"
	CheckOutboxDrained = "outbox_drained"
	CheckDevicesSent   = "device_commands_sent"
	CheckCompartments  = "compartments_free"
	CheckAudit         = "audit_chains"
)

// scope is what a sustained run made and expects to find.
type scope struct {
	carrierID string
	siteIDs   []string
	// completed is how many parcels the workers saw through to the
	// picked-up notice, the tail included.
	completed int
}

// notice is one message every parcel must have got exactly once: a kind
// on a channel, and for webhooks the event they tell of.
type notice struct {
	kind    parcelguard.MessageKind
	channel parcelguard.Channel
	event   parcelguard.EventKind
}

// expectedNotices are the messages a deposit and a pickup enqueue for a
// recipient with an e-mail address and a phone: the notice on each
// channel, and the carrier's webhook (delivered to the mailbox, as the
// bench's carrier has no endpoint).
var expectedNotices = []notice{
	{parcelguard.MessageDeposit, parcelguard.ChannelEmail, ""},
	{parcelguard.MessageDeposit, parcelguard.ChannelSMS, ""},
	{parcelguard.MessageWebhook, parcelguard.ChannelWebhook, parcelguard.EventParcelDeposited},
	{parcelguard.MessagePickedUp, parcelguard.ChannelEmail, ""},
	{parcelguard.MessagePickedUp, parcelguard.ChannelSMS, ""},
	{parcelguard.MessageWebhook, parcelguard.ChannelWebhook, parcelguard.EventParcelPickedUp},
}

func (n notice) String() string {
	if n.event != "" {
		return string(n.kind) + " " + string(n.event)
	}
	return string(n.kind) + " " + string(n.channel)
}

// noticeIndex is m's place in expectedNotices, or -1.
func noticeIndex(m *parcelguard.Message) int {
	for i, n := range expectedNotices {
		if m.Kind == n.kind && m.Channel == n.channel && (n.event == "" || m.Data["type"] == string(n.event)) {
			return i
		}
	}
	return -1
}

// skippedPrefix starts the note of a message the dispatcher marked sent
// without sending: a deposit notice whose parcel was picked up before it
// went out has nothing left to say.
const skippedPrefix = "skipped:"

// parcelTally is what the checker found of one parcel.
type parcelTally struct {
	pickedUp int // parcel.picked_up events
	notices  [6]int
	sent     int // its messages marked sent and delivered, not skipped
	mailbox  int // its mailbox entries
}

// checker collects the violations of one run's invariants.
type checker struct {
	sc      scope
	parcels map[string]*parcelTally
	checks  []Check
	// skipped counts the deposit notices skipped because the parcel was
	// picked up first (its SMS came, its e-mail was still queued).
	skipped int
}

func (c *checker) check(name string) *Check {
	for i := range c.checks {
		if c.checks[i].Name == name {
			return &c.checks[i]
		}
	}
	c.checks = append(c.checks, Check{Name: name, OK: true})
	return &c.checks[len(c.checks)-1]
}

func (c *checker) violation(name, format string, args ...any) {
	ch := c.check(name)
	ch.OK = false
	ch.Violations++
	if len(ch.Examples) < maxExamples {
		ch.Examples = append(ch.Examples, fmt.Sprintf(format, args...))
	}
}

func (c *checker) tally(parcelID string) *parcelTally {
	t := c.parcels[parcelID]
	if t == nil {
		t = &parcelTally{}
		c.parcels[parcelID] = t
	}
	return t
}

// checkInvariants reads the whole store after a run has ended and the
// outbox has drained, and checks what the run must have left: every
// parcel picked up exactly once, by one grant opened once, with exactly
// one deposit and one picked-up notice per channel, each sent and in the
// mailbox once (a deposit e-mail may be skipped when the parcel was picked
// up before it went out; those are counted), nothing left pending, every
// compartment free again, and every audit chain intact. It reads in bulk
// (pages over parcels, chains, messages, mailbox), not parcel by parcel,
// so a ten-minute run's million parcels check in a few minutes.
func checkInvariants(ctx context.Context, store parcelguard.Store, sc scope) (checks []Check, skipped int, err error) {
	c := &checker{sc: sc, parcels: map[string]*parcelTally{}}
	for _, name := range []string{CheckPickedUp, CheckPickedUpOnce, CheckGrantOnce, CheckNoticesOnce, CheckMailbox,
		CheckOutboxDrained, CheckDevicesSent, CheckCompartments, CheckAudit} {
		c.check(name) // report them in this order
	}
	for _, step := range []struct {
		what string
		fn   func(context.Context, parcelguard.Store) error
	}{
		{"parcels", c.checkParcels},
		{"events", c.checkEvents},
		{"outbox", c.checkOutbox},
		{"mailbox", c.checkMailbox},
		{"device commands", c.checkDeviceCommands},
		{"compartments", c.checkCompartments},
		{"audit chains", c.checkAudit},
	} {
		if err := step.fn(ctx, store); err != nil {
			return nil, 0, fmt.Errorf("check %s: %w", step.what, err)
		}
	}
	c.perParcel()
	return c.checks, c.skipped, nil
}

// checkParcels: every parcel of the run's carrier is picked up, and there
// are as many as the workers completed.
func (c *checker) checkParcels(ctx context.Context, store parcelguard.Store) error {
	ch := c.check(CheckPickedUp)
	after := ""
	for {
		var page []*parcelguard.Parcel
		err := store.View(ctx, func(tx parcelguard.Tx) (err error) {
			page, err = tx.Parcels(ctx, parcelguard.ParcelFilter{CarrierID: c.sc.carrierID, After: after, Limit: checkPage})
			return err
		})
		if err != nil {
			return err
		}
		for _, p := range page {
			ch.Checked++
			c.tally(p.ID)
			if p.State != parcelguard.ParcelPickedUp {
				c.violation(CheckPickedUp, "parcel %s is %s", p.ID, p.State)
			}
		}
		if len(page) < checkPage {
			break
		}
		after = page[len(page)-1].ID
	}
	if ch.Checked != c.sc.completed {
		c.violation(CheckPickedUp, "the store holds %d parcels of the run, the workers completed %d", ch.Checked, c.sc.completed)
	}
	return nil
}

// checkEvents walks the sites' chains: each parcel's pickup is recorded
// once, and no grant opened a door twice.
func (c *checker) checkEvents(ctx context.Context, store parcelguard.Store) error {
	grants := map[string]int{}
	for _, site := range c.sc.siteIDs {
		stream := parcelguard.SiteStream(site)
		var after int64
		for {
			var page []*parcelguard.Event
			err := store.View(ctx, func(tx parcelguard.Tx) (err error) {
				page, err = tx.Events(ctx, parcelguard.EventFilter{Stream: stream, AfterSeq: after, Limit: checkPage})
				return err
			})
			if err != nil {
				return err
			}
			for _, e := range page {
				if e.Kind != parcelguard.EventParcelPickedUp {
					continue
				}
				c.tally(e.ParcelID).pickedUp++
				if e.GrantID == "" {
					c.violation(CheckGrantOnce, "pickup event %s of parcel %s names no grant", e.ID, e.ParcelID)
					continue
				}
				grants[e.GrantID]++
			}
			if len(page) < checkPage {
				break
			}
			after = page[len(page)-1].Seq
		}
	}
	ch := c.check(CheckGrantOnce)
	for id, n := range grants {
		ch.Checked++
		if n != 1 {
			c.violation(CheckGrantOnce, "grant %s opened %d times", id, n)
		}
	}
	return nil
}

// checkOutbox reads every outbox message: each parcel's notices are
// counted, and none may be left pending or dead.
func (c *checker) checkOutbox(ctx context.Context, store parcelguard.Store) error {
	drained := c.check(CheckOutboxDrained)
	after := ""
	for {
		var page []*parcelguard.Message
		err := store.View(ctx, func(tx parcelguard.Tx) (err error) {
			page, err = tx.Messages(ctx, parcelguard.MessageFilter{After: after, Limit: checkPage})
			return err
		})
		if err != nil {
			return err
		}
		for _, m := range page {
			drained.Checked++
			if m.State != parcelguard.MessageSent {
				c.violation(CheckOutboxDrained, "message %s (%s %s) is %s", m.ID, m.Kind, m.Channel, m.State)
			}
			if m.ParcelID == "" || m.CarrierID != c.sc.carrierID {
				continue
			}
			t := c.tally(m.ParcelID)
			i := noticeIndex(m)
			if i < 0 {
				c.violation(CheckNoticesOnce, "parcel %s got an unexpected %s %s message", m.ParcelID, m.Kind, m.Channel)
				continue
			}
			t.notices[i]++
			switch {
			case m.State != parcelguard.MessageSent:
			case !strings.HasPrefix(m.LastError, skippedPrefix):
				t.sent++
			case m.Kind == parcelguard.MessageDeposit:
				c.skipped++
			default:
				c.violation(CheckNoticesOnce, "parcel %s: its %s was not sent (%s)", m.ParcelID, expectedNotices[i], m.LastError)
			}
		}
		if len(page) < checkPage {
			return nil
		}
		after = page[len(page)-1].ID
	}
}

// checkDeviceCommands: every command queued for the run's lockers (the
// grants and revokes of its parcels) was sent or found no longer needed.
func (c *checker) checkDeviceCommands(ctx context.Context, store parcelguard.Store) error {
	ch := c.check(CheckDevicesSent)
	for _, site := range c.sc.siteIDs {
		var cmds []*parcelguard.DeviceCommand
		err := store.View(ctx, func(tx parcelguard.Tx) (err error) {
			cmds, err = tx.DeviceCommands(ctx, parcelguard.DeviceCommandFilter{SiteID: site})
			return err
		})
		if err != nil {
			return err
		}
		for _, cmd := range cmds {
			ch.Checked++
			if cmd.State != parcelguard.DeviceCommandSent {
				c.violation(CheckDevicesSent, "%s command %s for locker %s is %s (%d attempts, %s)", cmd.Kind, cmd.ID, site, cmd.State, cmd.Attempts, cmd.LastError)
			}
		}
	}
	return nil
}

// checkMailbox counts each parcel's mailbox entries, to match against its
// sent messages: every channel of the bench delivers to the mailbox.
func (c *checker) checkMailbox(ctx context.Context, store parcelguard.Store) error {
	ch := c.check(CheckMailbox)
	after := ""
	for {
		var page []*parcelguard.MailboxEntry
		err := store.View(ctx, func(tx parcelguard.Tx) (err error) {
			page, err = tx.MailboxEntries(ctx, parcelguard.MailboxFilter{After: after, Limit: checkPage})
			return err
		})
		if err != nil {
			return err
		}
		for _, e := range page {
			ch.Checked++
			if e.ParcelID != "" {
				if t, ok := c.parcels[e.ParcelID]; ok {
					t.mailbox++
				}
			}
		}
		if len(page) < checkPage {
			return nil
		}
		after = page[len(page)-1].ID
	}
}

// perParcel checks what was tallied per parcel.
func (c *checker) perParcel() {
	once, notices := c.check(CheckPickedUpOnce), c.check(CheckNoticesOnce)
	for id, t := range c.parcels {
		once.Checked++
		notices.Checked++
		if t.pickedUp != 1 {
			c.violation(CheckPickedUpOnce, "parcel %s picked up %d times", id, t.pickedUp)
		}
		for i, n := range t.notices {
			if n != 1 {
				c.violation(CheckNoticesOnce, "parcel %s got %d %s notices", id, n, expectedNotices[i])
			}
		}
		if t.mailbox != t.sent {
			c.violation(CheckMailbox, "parcel %s: %d messages delivered, %d in the mailbox", id, t.sent, t.mailbox)
		}
	}
}

// checkCompartments: every compartment of the run's sites is free again.
func (c *checker) checkCompartments(ctx context.Context, store parcelguard.Store) error {
	ch := c.check(CheckCompartments)
	for _, site := range c.sc.siteIDs {
		var cs []*parcelguard.Compartment
		err := store.View(ctx, func(tx parcelguard.Tx) (err error) {
			cs, err = tx.Compartments(ctx, site)
			return err
		})
		if err != nil {
			return err
		}
		for _, x := range cs {
			ch.Checked++
			if x.State != parcelguard.CompartmentFree || x.ParcelID != "" {
				c.violation(CheckCompartments, "compartment %s is %s (parcel %q)", x.ID, x.State, x.ParcelID)
			}
		}
	}
	return nil
}

// checkAudit walks every audit chain, as `parcelguard audit verify` does.
func (c *checker) checkAudit(ctx context.Context, store parcelguard.Store) error {
	ch := c.check(CheckAudit)
	r, err := audit.Verify(ctx, store)
	if err != nil {
		return err
	}
	ch.Checked = r.Streams
	for _, b := range r.Broken {
		c.violation(CheckAudit, "%v", b)
	}
	return nil
}

// InvariantError is a run whose invariants did not all hold.
type InvariantError struct {
	Engine string
	// Failed names the failed checks with their violation counts.
	Failed string
}

func (e *InvariantError) Error() string {
	return fmt.Sprintf("%s: lifecycle invariants violated: %s", e.Engine, e.Failed)
}

// invariantErrors joins an InvariantError for each result that failed.
func invariantErrors(results []LifecycleResult) error {
	var errs []error
	for i := range results {
		if !results[i].OK() {
			errs = append(errs, &InvariantError{Engine: results[i].Engine, Failed: results[i].failedChecks()})
		}
	}
	return errors.Join(errs...)
}
