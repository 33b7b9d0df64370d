package sim

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/service"
)

// Attack paces (Config.AttackPace).
const (
	PaceFastest = "fastest"
	PacePatient = "patient"
)

// attacker stands at one site's kiosk and types random PINs and phone
// digits. At the fastest pace it guesses as fast as the site's guard lets
// anyone: right away while the failures are free, then the moment each
// imposed delay ends. At the patient pace it spends the free budget, then
// guesses once per leak interval, when one level has drained: never
// blocked, never alarmed, and over a storage period the most guesses the
// guard admits (parcelguard.MaxGuesses).
type attacker struct {
	site      *siteRec
	from, to  time.Time
	guesses   int
	blocked   int // attempts answered "throttled" (no guess made)
	successes int
	// logNothing is the log of the probability that none of the guesses
	// made would open anything, given the active grants at each guess.
	logNothing float64
	firstAlarm time.Time
	alarms     int
	// pace is the pause between guesses while failures cost nothing
	// (typing a PIN takes a few seconds).
	pace time.Duration
	// patient waits a leak interval after each guess once the free
	// budget is spent.
	patient bool
}

// startAttackers places the attackers at the largest sites.
func (w *World) startAttackers() {
	if w.cfg.Attackers == 0 {
		return
	}
	bySize := append([]*siteRec(nil), w.sites...)
	sort.SliceStable(bySize, func(i, j int) bool { return bySize[i].compartments > bySize[j].compartments })
	from := w.start.Add(w.cfg.AttackStart)
	for _, s := range bySize[:w.cfg.Attackers] {
		s.attacked = true
		a := &attacker{site: s, from: from, to: from.Add(w.cfg.AttackFor), pace: 5 * time.Second,
			patient: w.cfg.AttackPace == PacePatient}
		w.attacks = append(w.attacks, a)
		w.Schedule(from, func(ctx context.Context, w *World) { w.guess(ctx, a) })
	}
}

// guess is one attempt of attacker a.
func (w *World) guess(ctx context.Context, a *attacker) {
	now := w.Now()
	if !now.Before(a.to) {
		return
	}
	s := a.site
	pin := fmt.Sprintf("%06d", w.attackRand(a)%1_000_000)
	digits := fmt.Sprintf("%04d", w.attackRand(a)%10_000)
	w.mu.Lock()
	active := s.active
	w.mu.Unlock()
	var res *service.PickupResult
	err := w.timed("pickup_attacker", func() (err error) {
		res, err = w.svc.Pickup(ctx, s.kiosk, s.id, pin, digits)
		return err
	})
	next := now.Add(a.pace)
	if a.patient && a.guesses+1 >= parcelguard.GuardFreeFailures {
		next = now.Add(parcelguard.GuardLeakInterval)
	}
	switch {
	case err == nil:
		a.guesses++
		a.successes++
		w.stats.count(sGuesses, now, 1)
		w.attackerOpened(ctx, res)
	case errCode(err) == parcelguard.ETHROTTLED:
		a.blocked++
		w.stats.count(sAttackBlocked, now, 1)
		next = now.Add(max(retryAfter(err), time.Second))
		if a.patient {
			// Someone else's failure pushed the level up: let it drain.
			next = next.Add(parcelguard.GuardLeakInterval)
		}
	case errCode(err) == parcelguard.EREJECTED || errCode(err) == parcelguard.ELOCKED:
		a.guesses++
		w.stats.count(sGuesses, now, 1)
		a.logNothing += math.Log1p(-parcelguard.GuessOdds(active, true))
	default:
		w.Unexpected("attacker pickup at "+s.id, err)
	}
	w.Schedule(next, func(ctx context.Context, w *World) { w.guess(ctx, a) })
}

// attackRand draws from the attacker's own stream, so attackers at
// different sites do not contend and a run replays the same guesses.
func (w *World) attackRand(a *attacker) int {
	// Mix the site index and the attempt count (splitmix64).
	x := uint64(a.site.idx)<<32 ^ uint64(a.guesses+a.blocked) ^ w.cfg.Seed*0x9e3779b97f4a7c15
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return int((x ^ (x >> 31)) >> 1)
}

// attackerOpened records a compartment an attacker opened: the parcel is
// gone, and its recipient will be refused.
func (w *World) attackerOpened(ctx context.Context, res *service.PickupResult) {
	x, err := w.svc.Parcel(ctx, w.operator, res.ParcelID)
	if err != nil {
		w.Unexpected("parcel opened by attacker", err)
		return
	}
	idx := indexOfTracking(x.TrackingNumber)
	if idx < 0 || idx >= len(w.parcels) {
		w.Violation("wrong_door", "an attacker opened %s, which the simulation never announced", res.ParcelID)
		return
	}
	w.pickedUp(ctx, idx, res, "attacker")
}

// AttackBound is the analytic bar of SECURITY.md 9 for a full locker of
// Compartments compartments over Period, from the domain's bound
// (parcelguard.MaxGuesses, parcelguard.PNothingOpens) for the guard policy
// every locker uses.
type AttackBound struct {
	Compartments int    `json:"compartments"`
	Period       string `json:"period"`
	// MaxGuesses is the most guesses any pacing gets through the guard in
	// Period: the bound. FastestGuesses is the pace the simulated attacker
	// keeps (every guess the moment the kiosk allows), AlarmAtGuess which
	// of those raises the alarm, and UnalarmedGuesses the most a patient
	// attacker makes without ever raising it.
	MaxGuesses       int     `json:"max_guesses"`
	FastestGuesses   int     `json:"fastest_guesses"`
	AlarmAtGuess     int     `json:"alarm_at_guess"`
	UnalarmedGuesses int     `json:"unalarmed_guesses"`
	PerGuess         float64 `json:"p_open_per_guess"`
	// PNothingOpens is the probability that none of MaxGuesses guesses
	// opens anything; the bar is >= 0.9999.
	PNothingOpens float64 `json:"p_nothing_opens"`
	MeetsBar      bool    `json:"meets_bar"`
}

// Bar is the required probability that nothing opens.
const Bar = parcelguard.GuessingBar

// Bound computes the analytic bar for a full locker of compartments
// compartments over period.
func Bound(compartments int, period time.Duration, phoneFactor bool) AttackBound {
	l, err := parcelguard.MaxGuesses(parcelguard.DefaultGuardPolicy, period)
	if err != nil { // cannot happen for the default policy; no bound, no bar
		return AttackBound{Compartments: compartments, Period: period.String()}
	}
	pn := parcelguard.PNothingOpens(l.Max, compartments, phoneFactor)
	return AttackBound{Compartments: compartments, Period: period.String(), MaxGuesses: l.Max, FastestGuesses: l.Fastest,
		AlarmAtGuess: l.AlarmAt, UnalarmedGuesses: l.Unalarmed, PerGuess: parcelguard.GuessOdds(compartments, phoneFactor),
		PNothingOpens: pn, MeetsBar: pn >= Bar}
}
