package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/notify"
	"github.com/parcelguard/parcelguard/service"
)

// DoorstepConfig describes the doorstep shipments of a run: parcels the
// carrier announces for delivery to the door, sent out on the courier's
// morning route, attempted during the day and, after the carrier's last
// failed attempt, redirected to the nearest locker with room.
type DoorstepConfig struct {
	Shipments int `json:"shipments"`
	// PasswordShare of shipments carry the carrier's password flag; the
	// others are handed over without a password.
	PasswordShare float64 `json:"password_share"`
	// EmailShare of recipients also give an e-mail address.
	EmailShare float64 `json:"email_share"`
	// AbsentShare of recipients are never at home: every attempt fails
	// and the parcel ends in a locker (or goes back).
	AbsentShare float64 `json:"absent_share"`
	// The others' attempts end, each drawn afresh: not at home, refused,
	// address not accessible, never tried by the courier (the end of the
	// day records it), wrong passwords until the day's passwords are
	// disabled, or received by a delegate the recipient named that
	// morning; otherwise by the recipient.
	NotHome       float64 `json:"not_home"`
	Refused       float64 `json:"refused"`
	NotAccessible float64 `json:"not_accessible"`
	Skipped       float64 `json:"skipped"`
	Lockout       float64 `json:"lockout"`
	Delegate      float64 `json:"delegate"`
	// Per attempt: the recipient first tells a mistyped password (Typo)
	// or yesterday's (Stale); the courier first claims the attempt from
	// 5 km away (FarClaim); the courier verifies again after the handover
	// (Replay). Each must be refused without harm.
	Typo     float64 `json:"typo"`
	Stale    float64 `json:"stale"`
	FarClaim float64 `json:"far_claim"`
	Replay   float64 `json:"replay"`
	// RedirectDepositAfter is how long a courier takes to bring a
	// redirected parcel to its locker.
	RedirectDepositAfter time.Duration `json:"redirect_deposit_after"`
}

// DefaultDoorstep is n shipments with the default mix.
func DefaultDoorstep(n int) DoorstepConfig {
	return DoorstepConfig{Shipments: n, PasswordShare: 0.7, EmailShare: 0.4, AbsentShare: 0.08,
		NotHome: 0.15, Refused: 0.02, NotAccessible: 0.02, Skipped: 0.04, Lockout: 0.02, Delegate: 0.12,
		Typo: 0.05, Stale: 0.1, FarClaim: 0.05, Replay: 0.05, RedirectDepositAfter: time.Hour}
}

// Validate reports an unusable doorstep config.
func (c DoorstepConfig) Validate() error {
	var bad []string
	if c.Shipments < 0 {
		bad = append(bad, "shipments must not be negative")
	}
	for name, v := range map[string]float64{"password": c.PasswordShare, "email": c.EmailShare, "absent": c.AbsentShare,
		"typo": c.Typo, "stale": c.Stale, "far claim": c.FarClaim, "replay": c.Replay} {
		if !(v >= 0 && v <= 1) {
			bad = append(bad, name+" share must be in [0, 1]")
		}
	}
	sum := 0.0
	for _, v := range []float64{c.NotHome, c.Refused, c.NotAccessible, c.Skipped, c.Lockout, c.Delegate} {
		if !(v >= 0) {
			bad = append(bad, "attempt outcome shares must not be negative")
		}
		sum += v
	}
	if sum > 1 {
		bad = append(bad, "attempt outcome shares must sum to at most 1")
	}
	if c.RedirectDepositAfter < 0 {
		bad = append(bad, "redirect deposit time must not be negative")
	}
	if len(bad) > 0 {
		return fmt.Errorf("invalid doorstep config: %s", strings.Join(bad, "; "))
	}
	return nil
}

// Attempt outcomes.
const (
	oDeliver uint8 = iota
	oDelegate
	oNotHome
	oRefused
	oNotAccessible
	oSkip
	oLockout
)

// Per-attempt variants (bits).
const (
	vTypo uint8 = 1 << iota
	vStale
	vFar
	vReplay
)

// dstate is the doorstep model's view of a shipment.
type dstate uint8

const (
	dNew dstate = iota
	dAnnounced
	dOut
	dRescheduled
	dDelivered
	dRedirected // redirected, compartment reserved, not yet deposited
	dDeposited  // waiting in the locker it was redirected to
	dPickedUp
	dReturned
)

var dstateNames = [...]parcelguard.ParcelState{"", parcelguard.ParcelAnnounced, parcelguard.ParcelOutForDelivery,
	parcelguard.ParcelRescheduled, parcelguard.ParcelDelivered, parcelguard.ParcelRedirectedToLocker,
	parcelguard.ParcelDeposited, parcelguard.ParcelPickedUp, parcelguard.ParcelReturned}

// Once-only notifications of a shipment (doorRec.notes).
const (
	nRedirected uint16 = 1 << iota
	nReturned
	nDeposit
	nPickedUp
	nHookDelivered
	nHookRedirected
	nHookReturned
	nHookDeposited
	nHookPickedUp
)

// doorRec is the model of one doorstep shipment: without a pointer, so
// it lives outside the Go heap like the parcel records (model_mem.go).
type doorRec struct {
	pid      shortID
	lat, lon float64
	site     int32 // the site the address is near
	size     uint8
	needsPW  bool
	email    bool
	absent   bool
	state    dstate
	attempts int8 // failed attempts the simulation caused or saw
	daysOut  int8 // days it went out
	pwMsgs   int8 // delivery passwords received by SMS
	outcome  uint8
	variant  uint8
	notes    uint16
	date     parcelguard.DeliveryDate // out for, or rescheduled to
	// The recipient's delivery passwords as read from their messages.
	pw, oldPW code6
	pwID      shortID
	pwDate    parcelguard.DeliveryDate
	// Today's delegate: the password shown on the recipient's page, and
	// the one the delegate read in their message.
	delegID             shortID
	delegShown, delegPW code6
	lockerSite          int32 // -1 unless redirected
	compartment         shortID
	pin                 code6 // read from the locker's deposit notice
}

// id is the shipment's parcel id.
func (r *doorRec) id() string { return r.pid.String() }

// code6 is a 6-digit code kept as a number: 0 for none, else the code + 1.
type code6 uint32

// codeOf keeps s (0 if it is not 6 digits).
func codeOf(s string) code6 {
	if len(s) != 6 {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0
	}
	return code6(n + 1)
}

// String returns the code ("" for none).
func (c code6) String() string {
	if c == 0 {
		return ""
	}
	return fmt.Sprintf("%06d", int(c)-1)
}

// packed keeps an id the service made; ids are parcelguard ids, which
// always pack.
func packed(s string) shortID {
	x, _ := packID(s)
	return x
}

// Doorstep is the actor of the doorstep shipments: the carrier announcing
// them, the courier's routes and visits, the recipients (reading their
// passwords from their messages) and their delegates. It keeps its own
// model and checks: at most one proof per shipment, attempts within the
// carrier's limit, no password verifying after its day, no parcel out for
// delivery past its day, and a pickup grant for every redirected parcel.
type Doorstep struct {
	cfg     DoorstepConfig
	w       *World
	loc     *time.Location
	seed    uint64
	max     int // the carrier's attempt limit
	siteIdx map[string]int32

	mu      sync.Mutex
	recs    []doorRec
	pending map[int64][]int32 // shipments nobody tried, by the end of their day (unix)
	msgs    map[string]int    // notifications by kind or webhook type
	// histories counts the audit histories Finish checked.
	histories int
	free      func() // releases recs (Report, the last to use them, calls it)

	st doorStats
}

// doorStats are the doorstep counters of the summary.
type doorStats struct {
	announced, delivered, byDelegate, firstAttempt         atomic.Int64
	failed, lockouts, redirected, returned                 atomic.Int64
	redirectDeposited, redirectPickedUp                    atomic.Int64
	farRefused, staleRefused, typoRefused, replaysRefused  atomic.Int64
	afterLockoutRefused, delegates                         atomic.Int64
	byReason                                               sync.Map // reason → *atomic.Int64
	hDelivered, hFailed, hRedirected, hReturned, hPickedUp []atomic.Int64
}

// NewDoorstep returns the doorstep actor for cfg.
func NewDoorstep(cfg DoorstepConfig) *Doorstep {
	return &Doorstep{cfg: cfg, pending: map[int64][]int32{}, msgs: map[string]int{}}
}

// Name names the actor.
func (d *Doorstep) Name() string { return "doorstep" }

// doorstepZone and doorstepCountry are the recipients' zone and calendar.
const (
	doorstepZone    = "Europe/Warsaw"
	doorstepCountry = "PL"
)

// Start draws the shipments and schedules their announcements and the
// courier's morning routes.
func (d *Doorstep) Start(ctx context.Context, w *World) error {
	if err := d.cfg.Validate(); err != nil {
		return err
	}
	loc, err := time.LoadLocation(doorstepZone)
	if err != nil {
		return err
	}
	pol, err := w.svc.DoorstepPolicy(ctx, w.carrierP, w.carrierP.CarrierID)
	if err != nil {
		return err
	}
	d.w, d.loc, d.max, d.seed = w, loc, pol.MaxAttempts, w.cfg.Seed*0x9e3779b97f4a7c15^0xd00257e9
	d.siteIdx = make(map[string]int32, len(w.sites))
	for i, s := range w.sites {
		d.siteIdx[s.id] = int32(i)
	}
	h := w.stats.hours
	for _, p := range []*[]atomic.Int64{&d.st.hDelivered, &d.st.hFailed, &d.st.hRedirected, &d.st.hReturned, &d.st.hPickedUp} {
		*p = make([]atomic.Int64, h)
	}
	r := rand.New(rand.NewPCG(w.cfg.Seed, 0xd0025)) // its own stream: the locker parcels stay as they were
	c := d.cfg
	d.recs, d.free = offHeap[doorRec](c.Shipments)
	d.recs = d.recs[:c.Shipments]
	window := time.Duration(w.cfg.ArrivalDays) * 24 * time.Hour
	for i := range d.recs {
		site := w.pickSite(r.Float64())
		lat, lon := siteLatLon(site)
		// Within about 600 m of the site, so a redirect finds a locker.
		lat += (r.Float64() - 0.5) * 0.01
		lon += (r.Float64() - 0.5) * 0.01
		d.recs[i] = doorRec{site: int32(site), lat: lat, lon: lon, size: uint8(pickMix(w.cfg.ParcelMix, r.Float64())),
			needsPW: r.Float64() < c.PasswordShare, email: r.Float64() < c.EmailShare, absent: r.Float64() < c.AbsentShare,
			lockerSite: -1}
		at := w.start.Add(time.Duration(r.Float64() * float64(window)))
		w.Schedule(at, func(ctx context.Context, w *World) { d.announce(ctx, i) })
	}
	end := w.start.Add(w.cfg.Duration())
	for day := parcelguard.DeliveryDateOf(w.start, loc); ; day = day.AddDays(1) {
		start, err := day.StartIn(loc)
		if err != nil {
			return err
		}
		at := start.Add(8 * time.Hour)
		if !at.Before(end) {
			break
		}
		if at.Before(w.start) || !parcelguard.IsWorkingDay(doorstepCountry, day) {
			continue
		}
		w.Schedule(at, func(ctx context.Context, w *World) { d.route(ctx, day) })
	}
	return nil
}

// Shipment addresses: the tracking number, phone and e-mail of shipment i
// (and its delegate's phone) are derived from i, as for locker parcels, in
// number ranges of their own.
func doorTracking(i int) string { return fmt.Sprintf("SIMD-%09d", i) }

func doorPhone(i int) string { return phoneIn("+486", i) }

func doorDelegatePhone(i int) string { return phoneIn("+487", i) }

func doorEmail(i int) string { return fmt.Sprintf("d%d@sim.example", i) }

func phoneIn(prefix string, i int) string {
	return fmt.Sprintf("%s%08d", prefix, int64(i)*phoneMult%phoneMod)
}

// indexInPhone inverts phoneIn (-1 if p is not in prefix's range).
func indexInPhone(prefix, p string) int {
	rest, ok := strings.CutPrefix(p, prefix)
	if !ok || len(rest) != 8 {
		return -1
	}
	n, err := strconv.ParseInt(rest, 10, 64)
	if err != nil {
		return -1
	}
	return int(n * phoneInv % phoneMod)
}

// indexAfter parses the number in s between prefix and suffix (-1 if none).
func indexAfter(s, prefix, suffix string) int {
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok {
		return -1
	}
	if rest, ok = strings.CutSuffix(rest, suffix); !ok {
		return -1
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// codeLine finds a 6-digit code on a line of its own or after a colon, as
// the messages show passwords and PINs.
var codeLine = regexp.MustCompile(`(?m)(?:^|: )(\d{6})\s*$`)

// codeIn reads the code from a message text ("" if it shows none).
func codeIn(text string) string {
	m := codeLine.FindStringSubmatch(text)
	if m == nil {
		return ""
	}
	return strings.Clone(m[1]) // not a slice of the message, which it would keep alive
}

// draw is shipment i's uniform number for attempt a and purpose salt.
func (d *Doorstep) draw(i, a int, salt uint64) float64 {
	x := d.seed ^ uint64(i)<<24 ^ uint64(a)<<8 ^ salt
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11) / (1 << 53)
}

// outcomeOf draws how attempt a of shipment i ends, and its variants.
func (d *Doorstep) outcomeOf(i, a int, rec *doorRec) (uint8, uint8) {
	c := d.cfg
	var v uint8
	for k, share := range []float64{c.Typo, c.Stale, c.FarClaim, c.Replay} {
		if d.draw(i, a, uint64(10+k)) < share {
			v |= 1 << k
		}
	}
	u := d.draw(i, a, 1)
	if rec.absent {
		if u < 0.25 {
			return oSkip, v
		}
		return oNotHome, v
	}
	o := oDeliver
	acc := 0.0
	for _, x := range []struct {
		share float64
		o     uint8
	}{{c.NotHome, oNotHome}, {c.Refused, oRefused}, {c.NotAccessible, oNotAccessible}, {c.Skipped, oSkip},
		{c.Lockout, oLockout}, {c.Delegate, oDelegate}} {
		acc += x.share
		if u < acc {
			o = x.o
			break
		}
	}
	if !rec.needsPW && (o == oLockout || o == oDelegate) {
		o = oDeliver // no password to get wrong or to pass on
	}
	return o, v
}

// today is the recipients' current delivery date.
func (d *Doorstep) today() parcelguard.DeliveryDate {
	return parcelguard.DeliveryDateOf(d.w.Now(), d.loc)
}

// hour counts one event of series h in the current simulated hour.
func (d *Doorstep) hour(h []atomic.Int64) { h[d.w.stats.hourOf(d.w.Now())].Add(1) }

// announce is the carrier announcing shipment i.
func (d *Doorstep) announce(ctx context.Context, i int) {
	w := d.w
	d.mu.Lock()
	rec := d.recs[i]
	d.mu.Unlock()
	in := service.DoorstepAnnouncement{
		Parcel: parcelguard.Parcel{TrackingNumber: doorTracking(i), Size: parcelguard.SizeClasses[rec.size],
			DeclaredValue: int64(2000 + i%90000), Currency: "PLN",
			Recipient: parcelguard.Recipient{Name: "Door Recipient " + strconv.Itoa(i), Phone: doorPhone(i), Language: langs[i%len(langs)]}},
		Address: fmt.Sprintf("Simulated Lane %d", i), Lat: rec.lat, Lon: rec.lon, TimeZone: doorstepZone, Country: doorstepCountry,
		PasswordFlag: rec.needsPW}
	if rec.email {
		in.Parcel.Recipient.Email = doorEmail(i)
	}
	var dp *service.DoorstepParcel
	err := w.retryConflict(func() error {
		return w.timed("doorstep_announce", func() (err error) {
			dp, err = w.svc.AnnounceDoorstep(ctx, w.carrierP, in)
			return err
		})
	})
	if err != nil {
		w.Unexpected("announce doorstep "+in.Parcel.TrackingNumber, err)
		return
	}
	if (dp.Doorstep.PasswordReason != "") != rec.needsPW {
		w.Violation("doorstep_policy", "shipment %s with password flag %v got password reason %q", dp.Parcel.ID, rec.needsPW, dp.Doorstep.PasswordReason)
	}
	d.mu.Lock()
	d.recs[i].pid, d.recs[i].state = packed(dp.Parcel.ID), dAnnounced
	d.mu.Unlock()
	d.st.announced.Add(1)
}

// route is the courier's morning: every shipment announced, or
// rescheduled to today, goes out for delivery in route order.
func (d *Doorstep) route(_ context.Context, day parcelguard.DeliveryDate) {
	d.mu.Lock()
	var stops []int
	for i := range d.recs {
		r := &d.recs[i]
		if r.state == dAnnounced || (r.state == dRescheduled && !day.Before(r.date)) {
			stops = append(stops, i)
		}
	}
	d.mu.Unlock()
	now := d.w.Now()
	for seq, i := range stops {
		d.w.Schedule(now, func(ctx context.Context, w *World) { d.out(ctx, i, seq+1) })
	}
}

// out sends shipment i out for delivery today and plans its attempt.
func (d *Doorstep) out(ctx context.Context, i, seq int) {
	w := d.w
	d.mu.Lock()
	id := d.recs[i].id()
	d.mu.Unlock()
	var dp *service.DoorstepParcel
	err := w.retryConflict(func() error {
		return w.timed("out_for_delivery", func() (err error) {
			dp, err = w.svc.OutForDelivery(ctx, w.courier, id, seq)
			return err
		})
	})
	if err != nil {
		w.Unexpected("out for delivery "+id, err)
		return
	}
	today := d.today()
	if dp.Parcel.State != parcelguard.ParcelOutForDelivery || dp.Doorstep.Date != today {
		w.Violation("doorstep_state", "shipment %s sent out on %s is %s for %s", id, today, dp.Parcel.State, dp.Doorstep.Date)
		return
	}
	d.mu.Lock()
	rec := &d.recs[i]
	if int(rec.attempts) >= d.max {
		w.Violation("doorstep_attempts", "shipment %s goes out again after %d failed attempts (limit %d)", id, rec.attempts, d.max)
	}
	if dp.Doorstep.Attempts != int(rec.attempts) {
		w.Violation("doorstep_attempts", "shipment %s has %d failed attempts in the store, the simulation saw %d", id, dp.Doorstep.Attempts, rec.attempts)
	}
	rec.state, rec.date = dOut, today
	rec.daysOut++
	rec.delegID, rec.delegShown, rec.delegPW = shortID{}, 0, 0
	rec.outcome, rec.variant = d.outcomeOf(i, int(rec.attempts), rec)
	o := rec.outcome
	if o == oSkip {
		end, err := today.EndIn(d.loc)
		if err == nil {
			d.pending[end.Unix()] = append(d.pending[end.Unix()], int32(i))
		}
	}
	d.mu.Unlock()
	if o == oSkip {
		return
	}
	start, err := today.StartIn(d.loc)
	if err != nil {
		w.Unexpected("start of "+today.String(), err)
		return
	}
	if o == oDelegate {
		// The recipient, who will not be in, names a neighbour.
		w.Schedule(w.Now().Add(15*time.Minute), func(ctx context.Context, w *World) { d.nameDelegate(ctx, i) })
	}
	at := start.Add(9*time.Hour + time.Duration(d.draw(i, int(dp.Doorstep.Attempts), 2)*float64(10*time.Hour)))
	w.Schedule(at, func(ctx context.Context, w *World) { d.visit(ctx, i) })
}

// nameDelegate is the recipient naming a delegate for today on their
// tracking page; the delegate gets the password by SMS.
func (d *Doorstep) nameDelegate(ctx context.Context, i int) {
	w := d.w
	d.mu.Lock()
	id := d.recs[i].id()
	d.mu.Unlock()
	var view *service.DelegateView
	err := w.timed("doorstep_delegate", func() error {
		link, err := w.svc.RecipientLink(ctx, id)
		if err != nil {
			return err
		}
		acc, err := w.svc.AuthenticateRecipient(ctx, link)
		if err != nil {
			return err
		}
		view, err = w.svc.CreateDoorstepDelegate(ctx, acc, service.DelegateInput{Name: "Neighbour " + strconv.Itoa(i), Phone: doorDelegatePhone(i)})
		return err
	})
	if err != nil {
		w.Unexpected("name a delegate for "+id, err)
		return
	}
	d.st.delegates.Add(1)
	d.mu.Lock()
	rec := &d.recs[i]
	rec.delegID, rec.delegShown = packed(view.ID), codeOf(view.Code)
	if rec.delegPW != 0 && rec.delegPW != rec.delegShown {
		w.Violation("delegate_code", "the delegate of %s read another password than the recipient's page shows", id)
	}
	d.mu.Unlock()
}

// near returns a position within about 25 m of shipment i's address; far
// one about 5.5 km away.
func (d *Doorstep) near(rec *doorRec, far bool) service.Position {
	if far {
		return service.Position{Lat: rec.lat + 0.05, Lon: rec.lon}
	}
	return service.Position{Lat: rec.lat + 0.0002, Lon: rec.lon - 0.0001}
}

// visit is the courier at shipment i's door.
func (d *Doorstep) visit(ctx context.Context, i int) {
	w := d.w
	today := d.today()
	d.mu.Lock()
	rec := d.recs[i] // a copy: the fields the visit needs
	d.mu.Unlock()
	if rec.state != dOut || rec.date != today {
		w.Violation("doorstep_state", "the courier came to %s on %s, which is %s for %s in the simulation", rec.id(), today, dstateNames[rec.state], rec.date)
		return
	}
	pos := d.near(&rec, false)
	reason := map[uint8]parcelguard.AttemptReason{oNotHome: parcelguard.ReasonNotAtHome, oRefused: parcelguard.ReasonRefused,
		oNotAccessible: parcelguard.ReasonNotAccessible}[rec.outcome]
	if rec.variant&vFar != 0 {
		d.farClaim(ctx, i, &rec, reason)
	}
	switch rec.outcome {
	case oNotHome, oRefused, oNotAccessible:
		var dp *service.DoorstepParcel
		err := w.retryConflict(func() error {
			return w.timed("doorstep_fail_attempt", func() (err error) {
				dp, err = w.svc.FailAttempt(ctx, w.courier, rec.id(), reason, pos)
				return err
			})
		})
		if err != nil {
			w.Unexpected("failed attempt of "+rec.id(), err)
			return
		}
		d.failed(i, dp, reason)
	case oLockout:
		d.lockout(ctx, i, &rec, pos)
	default:
		d.handover(ctx, i, &rec, pos, today)
	}
}

// farClaim is the courier claiming the attempt from 5 km away first: it
// must be refused and must cost no attempt.
func (d *Doorstep) farClaim(ctx context.Context, i int, rec *doorRec, reason parcelguard.AttemptReason) {
	w := d.w
	if reason == "" {
		reason = parcelguard.ReasonNotAtHome
	}
	err := w.timed("doorstep_fail_attempt", func() error {
		_, err := w.svc.FailAttempt(ctx, w.courier, rec.id(), reason, d.near(rec, true))
		return err
	})
	if errCode(err) != parcelguard.EFORBIDDEN {
		w.Violation("doorstep_far_attempt", "a failed attempt of %s claimed 5 km away was answered %v, not forbidden", rec.id(), err)
		return
	}
	dp, err := d.read(ctx, rec.id())
	if err != nil {
		return
	}
	if dp.Parcel.State != parcelguard.ParcelOutForDelivery || dp.Doorstep.Attempts != int(rec.attempts) {
		w.Violation("doorstep_far_attempt", "a refused claim from 5 km away left %s %s with %d attempts (was %d)", rec.id(),
			dp.Parcel.State, dp.Doorstep.Attempts, rec.attempts)
		return
	}
	d.st.farRefused.Add(1)
	w.checks.ok()
}

// read reads shipment id through the service as the operator.
func (d *Doorstep) read(ctx context.Context, id string) (*service.DoorstepParcel, error) {
	var dp *service.DoorstepParcel
	err := d.w.timed("doorstep_parcel", func() (err error) {
		dp, err = d.w.svc.DoorstepParcel(ctx, d.w.operator, id)
		return err
	})
	if err != nil {
		d.w.Unexpected("read doorstep parcel "+id, err)
	}
	return dp, err
}

// verify is the courier entering the password they were told.
func (d *Doorstep) verify(ctx context.Context, id, pw string, pos service.Position) (*parcelguard.DoorstepProof, error) {
	var proof *parcelguard.DoorstepProof
	err := d.w.retryConflict(func() error {
		return d.w.timed("doorstep_verify", func() (err error) {
			proof, err = d.w.svc.VerifyDoorstep(ctx, d.w.courier, id, pw, pos)
			return err
		})
	})
	return proof, err
}

// otherCode returns a 6-digit code that is not pw (the k-th such).
func otherCode(pw string, k int) string {
	n, _ := strconv.Atoi(pw)
	return fmt.Sprintf("%06d", (n+k*104729)%1_000_000)
}

// lockout is someone telling wrong passwords until the day's passwords
// are disabled: the attempt fails as wrong_password, and even the right
// password no longer verifies.
func (d *Doorstep) lockout(ctx context.Context, i int, rec *doorRec, pos service.Position) {
	w := d.w
	for k := 1; k <= parcelguard.MaxDoorstepPasswordFailures; k++ {
		_, err := d.verify(ctx, rec.id(), otherCode(rec.pw.String(), k), pos)
		want := parcelguard.EREJECTED
		if k == parcelguard.MaxDoorstepPasswordFailures {
			want = parcelguard.ELOCKED
		}
		if err == nil {
			w.Violation("doorstep_two_proofs", "a wrong password delivered %s", rec.id())
			return
		}
		if errCode(err) != want {
			w.Violation("doorstep_lockout", "wrong password %d of %s answered %v, want %s", k, rec.id(), err, want)
			return
		}
	}
	d.st.lockouts.Add(1)
	dp, err := d.read(ctx, rec.id())
	if err != nil {
		return
	}
	d.failed(i, dp, parcelguard.ReasonWrongPassword)
	if rec.pw == 0 {
		return
	}
	if _, err := d.verify(ctx, rec.id(), rec.pw.String(), pos); err == nil {
		w.Violation("password_after_lockout", "the recipient's password of %s verified after the day's passwords were disabled", rec.id())
		return
	}
	d.st.afterLockoutRefused.Add(1)
	w.checks.ok()
}

// handover is the recipient (or their delegate) telling the password.
func (d *Doorstep) handover(ctx context.Context, i int, rec *doorRec, pos service.Position, today parcelguard.DeliveryDate) {
	w := d.w
	pw, wantID, holder := "", "", parcelguard.PasswordHolder("")
	if rec.needsPW {
		pw, wantID, holder = rec.pw.String(), rec.pwID.String(), parcelguard.HolderRecipient
		if rec.outcome == oDelegate {
			pw, wantID, holder = rec.delegPW.String(), rec.delegID.String(), parcelguard.HolderDelegate
		}
		if pw == "" || (holder == parcelguard.HolderRecipient && rec.pwDate != today) {
			w.Violation("notification_lost", "the %s of %s has no delivery password for %s", holder, rec.id(), today)
			return
		}
		if rec.variant&vTypo != 0 {
			if _, err := d.verify(ctx, rec.id(), mistype(pw), pos); errCode(err) != parcelguard.EREJECTED {
				w.Violation("doorstep_typo", "a mistyped password of %s was answered %v", rec.id(), err)
				return
			}
			d.st.typoRefused.Add(1)
		}
		if rec.variant&vStale != 0 && rec.oldPW != 0 && rec.oldPW.String() != pw {
			_, err := d.verify(ctx, rec.id(), rec.oldPW.String(), pos)
			if err == nil {
				w.Violation("password_after_day", "an earlier day's password delivered %s on %s", rec.id(), today)
				d.delivered(i, nil, "", "", rec)
				return
			}
			if errCode(err) != parcelguard.EREJECTED {
				w.Violation("password_after_day", "an earlier day's password of %s was answered %v", rec.id(), err)
				return
			}
			d.st.staleRefused.Add(1)
			w.checks.ok()
		}
	}
	proof, err := d.verify(ctx, rec.id(), pw, pos)
	if err != nil {
		w.Violation("doorstep_refused", "the %s of %s told today's password at the door and was refused: %v", holder, rec.id(), err)
		return
	}
	d.delivered(i, proof, holder, wantID, rec)
	if rec.variant&vReplay != 0 {
		if _, err := d.verify(ctx, rec.id(), pw, pos); err == nil {
			w.Violation("doorstep_two_proofs", "%s was delivered twice", rec.id())
			return
		}
		d.st.replaysRefused.Add(1)
		w.checks.ok()
	}
}

// delivered records a completed handover and checks its proof.
func (d *Doorstep) delivered(i int, proof *parcelguard.DoorstepProof, holder parcelguard.PasswordHolder, wantID string, seen *doorRec) {
	w := d.w
	d.mu.Lock()
	rec := &d.recs[i]
	if rec.state != dOut {
		w.Violation("doorstep_two_proofs", "%s delivered while %s in the simulation", rec.id(), dstateNames[rec.state])
	}
	first := rec.attempts == 0
	rec.state = dDelivered
	rec.pw, rec.oldPW, rec.delegPW, rec.delegShown = 0, 0, 0, 0 // no longer needed
	d.mu.Unlock()
	d.st.delivered.Add(1)
	d.hour(d.st.hDelivered)
	if first {
		d.st.firstAttempt.Add(1)
	}
	if holder == parcelguard.HolderDelegate {
		d.st.byDelegate.Add(1)
	}
	if proof == nil {
		return
	}
	switch {
	case proof.ParcelID != seen.id():
		w.Violation("doorstep_proof", "the proof of %s names parcel %s", seen.id(), proof.ParcelID)
	case proof.Holder != holder:
		w.Violation("doorstep_proof", "the proof of %s names holder %q, the password was the %s's", seen.id(), proof.Holder, holder)
	case proof.PasswordID != wantID:
		w.Violation("password_after_day", "%s was delivered with password %s, today's is %s", seen.id(), proof.PasswordID, wantID)
	default:
		w.checks.ok()
	}
}

// failed applies a failed attempt (the store's answer dp) to the model:
// rescheduled before the carrier's limit, redirected to a locker (or
// returned) at it, never beyond.
func (d *Doorstep) failed(i int, dp *service.DoorstepParcel, reason parcelguard.AttemptReason) {
	w := d.w
	d.st.failed.Add(1)
	d.hour(d.st.hFailed)
	c, _ := d.st.byReason.LoadOrStore(string(reason), new(atomic.Int64))
	c.(*atomic.Int64).Add(1)
	d.mu.Lock()
	defer d.mu.Unlock()
	rec := &d.recs[i]
	rec.attempts++
	n := int(rec.attempts)
	switch {
	case dp.Doorstep.Attempts != n:
		w.Violation("doorstep_attempts", "%s has %d failed attempts in the store, the simulation saw %d", rec.id(), dp.Doorstep.Attempts, n)
	case n > d.max:
		w.Violation("doorstep_attempts", "%s failed %d times, the carrier's limit is %d", rec.id(), n, d.max)
	case dp.Doorstep.LastReason != reason:
		w.Violation("doorstep_attempts", "%s failed as %s, recorded as %s", rec.id(), reason, dp.Doorstep.LastReason)
	default:
		w.checks.ok()
	}
	state := dp.Parcel.State
	if state == parcelguard.ParcelOutForDelivery && reason == parcelguard.ReasonNotDelivered {
		// The end of the day rescheduled it to the day that has just
		// begun, and the same scheduler pass sent it out again.
		state = parcelguard.ParcelRescheduled
	}
	switch state {
	case parcelguard.ParcelRescheduled:
		if n >= d.max {
			w.Violation("doorstep_attempts", "%s rescheduled after its last attempt (%d of %d)", rec.id(), n, d.max)
		}
		prev := rec.date
		rec.state, rec.date = dRescheduled, dp.Doorstep.Date
		if !prev.Before(rec.date) || !parcelguard.IsWorkingDay(doorstepCountry, rec.date) {
			w.Violation("doorstep_reschedule", "%s rescheduled from %s to %s, not a later working day", rec.id(), prev, rec.date)
		}
	case parcelguard.ParcelRedirectedToLocker:
		if n != d.max {
			w.Violation("doorstep_attempts", "%s redirected after %d of %d attempts", rec.id(), n, d.max)
		}
		si, ok := d.siteIdx[dp.Parcel.SiteID]
		if !ok || dp.Parcel.CompartmentID == "" {
			w.Violation("redirect_no_grant", "%s redirected to %q without a compartment of the network", rec.id(), dp.Parcel.SiteID)
			return
		}
		rec.state, rec.lockerSite, rec.compartment = dRedirected, si, packed(dp.Parcel.CompartmentID)
		w.mu.Lock()
		w.sites[si].reserved++
		w.mu.Unlock()
		d.st.redirected.Add(1)
		d.hour(d.st.hRedirected)
		w.Schedule(w.Now().Add(d.cfg.RedirectDepositAfter), func(ctx context.Context, w *World) { d.depositRedirected(ctx, i) })
	case parcelguard.ParcelReturned:
		if n != d.max {
			w.Violation("doorstep_attempts", "%s returned after %d of %d attempts", rec.id(), n, d.max)
		}
		rec.state = dReturned
		d.st.returned.Add(1)
		d.hour(d.st.hReturned)
	default:
		w.Violation("doorstep_state", "%s is %s after a failed attempt", rec.id(), dp.Parcel.State)
	}
}

// BetweenTicks settles the shipments nobody tried whose day has ended:
// the end-of-day timer must have recorded a not_delivered attempt.
func (d *Doorstep) BetweenTicks(ctx context.Context, w *World) {
	now := w.Now().Unix()
	d.mu.Lock()
	var due []int32
	for end, is := range d.pending {
		if end <= now {
			due = append(due, is...)
			delete(d.pending, end)
		}
	}
	d.mu.Unlock()
	for _, i := range due {
		d.mu.Lock()
		id := d.recs[i].id()
		d.mu.Unlock()
		dp, err := d.read(ctx, id)
		if err != nil {
			continue
		}
		d.mu.Lock()
		day := d.recs[i].date
		d.mu.Unlock()
		if dp.Parcel.State == parcelguard.ParcelOutForDelivery && !day.Before(dp.Doorstep.Date) {
			w.Violation("out_past_day", "%s is still out for delivery after its day %s ended", id, day)
			continue
		}
		d.failed(int(i), dp, parcelguard.ReasonNotDelivered)
	}
}

// depositRedirected is a courier putting a redirected shipment into the
// compartment reserved for it: the recipient must get a pickup grant.
func (d *Doorstep) depositRedirected(ctx context.Context, i int) {
	w := d.w
	d.mu.Lock()
	rec := d.recs[i]
	d.mu.Unlock()
	var x *parcelguard.Parcel
	err := w.retryConflict(func() error {
		return w.timed("deposit_redirected", func() (err error) {
			x, err = w.svc.Deposit(ctx, w.courier, rec.id())
			return err
		})
	})
	if err != nil {
		w.Unexpected("deposit redirected "+rec.id(), err)
		return
	}
	s := w.sites[rec.lockerSite]
	if x.State != parcelguard.ParcelDeposited || x.SiteID != s.id || x.CompartmentID != rec.compartment.String() {
		w.Violation("redirect_no_grant", "redirected %s deposited as %s at %s/%s, reserved at %s/%s", rec.id(), x.State, x.SiteID, x.CompartmentID, s.id, rec.compartment)
	}
	w.mu.Lock()
	s.reserved--
	s.occupied++
	s.active++
	w.mu.Unlock()
	d.mu.Lock()
	d.recs[i].state = dDeposited
	d.mu.Unlock()
	d.st.redirectDeposited.Add(1)
	var grants []*parcelguard.Grant
	err = w.store.View(ctx, func(tx parcelguard.Tx) (err error) {
		grants, err = tx.GrantsOfParcel(ctx, rec.id())
		return err
	})
	if err != nil {
		w.Unexpected("grants of "+rec.id(), err)
		return
	}
	active := 0
	for _, g := range grants {
		if g.Purpose == parcelguard.PurposePickup && g.State == parcelguard.GrantActive && g.SiteID == s.id {
			active++
		}
	}
	if active != 1 {
		w.Violation("redirect_no_grant", "redirected %s deposited at %s has %d active pickup grants", rec.id(), s.id, active)
		return
	}
	w.checks.ok()
}

// lockerVisit is the recipient of a redirected shipment at its locker
// with the PIN from the deposit notice and their phone digits.
func (d *Doorstep) lockerVisit(ctx context.Context, i int) {
	w := d.w
	d.mu.Lock()
	rec := d.recs[i]
	d.mu.Unlock()
	s := w.sites[rec.lockerSite]
	phone := doorPhone(i)
	var res *service.PickupResult
	err := w.timed("pickup_redirected", func() (err error) {
		res, err = w.svc.Pickup(ctx, s.kiosk, s.id, rec.pin.String(), phone[len(phone)-parcelguard.PhoneFactorDigits:])
		return err
	})
	switch {
	case errCode(err) == parcelguard.ETHROTTLED:
		w.Schedule(w.Now().Add(max(retryAfter(err), time.Second)), func(ctx context.Context, w *World) { d.lockerVisit(ctx, i) })
		return
	case err != nil:
		w.Violation("recipient_refused", "recipient of redirected %s refused at %s: %v", rec.id(), s.id, err)
		return
	case res.ParcelID != rec.id() || res.CompartmentID != rec.compartment.String():
		w.Violation("wrong_door", "the PIN of redirected %s opened %s of parcel %s", rec.id(), res.CompartmentID, res.ParcelID)
		return
	}
	w.mu.Lock()
	s.occupied--
	s.active--
	w.mu.Unlock()
	d.mu.Lock()
	if d.recs[i].state != dDeposited {
		w.Violation("grant_reused", "redirected %s opened while %s in the simulation", rec.id(), dstateNames[d.recs[i].state])
	}
	d.recs[i].state, d.recs[i].pin = dPickedUp, 0
	d.mu.Unlock()
	d.st.redirectPickedUp.Add(1)
	d.hour(d.st.hPickedUp)
	w.checks.ok()
}

// owner returns the shipment a message is for and whether its addressee
// is the shipment's delegate (-1 if the message is not the actor's).
func (d *Doorstep) owner(r *notify.Rendered) (int, bool) {
	switch r.Channel {
	case parcelguard.ChannelSMS:
		if i := indexInPhone("+486", r.To); i >= 0 {
			return i, false
		}
		if i := indexInPhone("+487", r.To); i >= 0 {
			return i, true
		}
	case parcelguard.ChannelEmail:
		return indexAfter(r.To, "d", "@sim.example"), false
	case parcelguard.ChannelWebhook:
		var ev notify.WebhookEvent
		if json.Unmarshal(r.Body, &ev) == nil {
			return indexAfter(ev.Parcel.TrackingNumber, "SIMD-", ""), false
		}
	}
	return -1, false
}

// ClaimMessage takes the shipments' notifications: recipients read their
// delivery passwords and PINs from them, delegates theirs.
func (d *Doorstep) ClaimMessage(_ context.Context, w *World, r *notify.Rendered) bool {
	i, delegate := d.owner(r)
	if i < 0 || i >= len(d.recs) {
		return false
	}
	kind := string(r.Kind)
	if r.Channel == parcelguard.ChannelWebhook {
		kind = "webhook/" + r.EventType
		if r.EventType == "" {
			var ev notify.WebhookEvent
			_ = json.Unmarshal(r.Body, &ev)
			kind = "webhook/" + ev.Type
		}
	} else {
		kind += "/" + string(r.Channel)
	}
	once := map[string]uint16{"doorstep_redirected/sms": nRedirected, "doorstep_returned/sms": nReturned,
		"deposit/sms": nDeposit, "picked_up/sms": nPickedUp,
		"webhook/" + string(parcelguard.EventDoorstepDelivered): nHookDelivered, "webhook/" + string(parcelguard.EventDoorstepRedirected): nHookRedirected,
		"webhook/" + string(parcelguard.EventDoorstepReturned): nHookReturned, "webhook/" + string(parcelguard.EventParcelDeposited): nHookDeposited,
		"webhook/" + string(parcelguard.EventParcelPickedUp): nHookPickedUp}[kind]
	d.mu.Lock()
	defer d.mu.Unlock()
	d.msgs[kind]++
	rec := &d.recs[i]
	if once != 0 {
		if rec.notes&once != 0 {
			w.Violation("notification_twice", "shipment %s got %s twice (idempotency key %s)", rec.id(), kind, r.IdempotencyKey)
			return true
		}
		rec.notes |= once
	}
	if r.Channel != parcelguard.ChannelSMS {
		return true
	}
	switch {
	case delegate && r.Kind == parcelguard.MessageDoorstepDelegate:
		rec.delegPW = codeOf(codeIn(r.Text))
		if rec.delegPW == 0 {
			w.Violation("notification", "the delegate message of %s shows no password", rec.id())
		}
		if rec.delegShown != 0 && rec.delegShown != rec.delegPW {
			w.Violation("delegate_code", "the delegate of %s read another password than the recipient's page shows", rec.id())
		}
	case r.Kind == parcelguard.MessageDoorstepPassword:
		code := codeOf(codeIn(r.Text))
		if code == 0 {
			w.Violation("notification", "the password message of %s shows no password", rec.id())
			return true
		}
		if rec.pw != code {
			rec.oldPW = rec.pw
		}
		rec.pw, rec.pwDate, rec.pwMsgs = code, parcelguard.DeliveryDateOf(w.Now(), d.loc), rec.pwMsgs+1
		if parts := strings.Split(r.IdempotencyKey, ":"); len(parts) == 3 {
			rec.pwID = packed(parts[1])
		}
	case r.Kind == parcelguard.MessageDeposit:
		rec.pin = codeOf(codeIn(r.Text))
		if rec.pin == 0 || rec.lockerSite < 0 {
			w.Violation("redirect_no_grant", "the deposit notice of %s shows no PIN (or the parcel was never redirected)", rec.id())
			return true
		}
		delay := 30*time.Minute + time.Duration(d.draw(i, 99, 3)*float64(8*time.Hour))
		w.Schedule(w.Now().Add(delay), func(ctx context.Context, w *World) { d.lockerVisit(ctx, i) })
	}
	return true
}

// hourly returns series h for the report's hours.
func hourlyOf(h []atomic.Int64, hours int) []float64 {
	out := make([]float64, min(hours, len(h)))
	for i := range out {
		out[i] = float64(h[i].Load())
	}
	return out
}

// share returns a/b (0 when b is 0).
func share(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return math.Round(1e4*float64(a)/float64(b)) / 1e4
}
