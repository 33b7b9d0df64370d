package sim

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/parcelguard/parcelguard"
)

// maxViolationsKept bounds the violations a summary lists; all are counted.
const maxViolationsKept = 50

// Violation is one broken invariant.
type Violation struct {
	Kind    string `json:"kind"`
	At      string `json:"at"`
	Message string `json:"message"`
}

// checker counts checks and keeps the violations found.
type checker struct {
	w      *World
	mu     sync.Mutex
	kept   []Violation
	byKind map[string]int
	n      atomic.Int64 // violations
	checks atomic.Int64 // individual checks made
	cursor int          // round-robin position of the site sweep
}

func (c *checker) violation(kind, msg string) {
	c.n.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byKind == nil {
		c.byKind = map[string]int{}
	}
	c.byKind[kind]++
	if len(c.kept) < maxViolationsKept {
		c.kept = append(c.kept, Violation{Kind: kind, At: c.w.Now().Format("2006-01-02T15:04:05Z"), Message: msg})
	}
}

func (c *checker) ok() { c.checks.Add(1) }

// sweep reads the compartments of the next n sites (round robin) and
// checks them against the model; it runs between ticks, when no action
// is changing anything.
func (c *checker) sweep(ctx context.Context, n int) {
	w := c.w
	for range min(n, len(w.sites)) {
		s := w.sites[c.cursor%len(w.sites)]
		c.cursor++
		c.checkSite(ctx, s)
	}
}

// checkSite checks one site: every compartment holds at most one parcel and
// holds one exactly when it is reserved or occupied, no parcel is in two
// compartments, and the counts of reserved and occupied compartments are
// what the simulation put there.
func (c *checker) checkSite(ctx context.Context, s *siteRec) {
	w := c.w
	var cs []*parcelguard.Compartment
	err := w.timed("check_site", func() (err error) {
		cs, err = w.svc.Compartments(ctx, w.operator, s.id)
		return err
	})
	if err != nil {
		w.Unexpected("read compartments of "+s.id, err)
		return
	}
	reserved, occupied := 0, 0
	seen := make(map[string]string, len(cs))
	for _, cm := range cs {
		holds := cm.State == parcelguard.CompartmentReserved || cm.State == parcelguard.CompartmentOccupied
		switch {
		case holds && cm.ParcelID == "":
			w.Violation("compartment", "compartment %s is %s but names no parcel", cm.ID, cm.State)
		case !holds && cm.ParcelID != "":
			w.Violation("compartment", "compartment %s is %s but holds parcel %s", cm.ID, cm.State, cm.ParcelID)
		default:
			c.ok()
		}
		if cm.ParcelID != "" {
			if other, dup := seen[cm.ParcelID]; dup {
				w.Violation("one_parcel_one_compartment", "parcel %s is in compartments %s and %s", cm.ParcelID, other, cm.ID)
			}
			seen[cm.ParcelID] = cm.ID
		}
		switch cm.State {
		case parcelguard.CompartmentReserved:
			reserved++
		case parcelguard.CompartmentOccupied:
			occupied++
		}
	}
	w.mu.Lock()
	wantR, wantO := s.reserved, s.occupied
	w.mu.Unlock()
	if reserved != wantR || occupied != wantO {
		w.Violation("occupancy", "site %s has %d reserved and %d occupied compartments; the simulation put %d and %d there",
			s.id, reserved, occupied, wantR, wantO)
	} else {
		c.ok()
	}
}

// summary reports the checks made and the violations found.
func (c *checker) summary() InvariantSummary {
	c.mu.Lock()
	defer c.mu.Unlock()
	kinds := make([]string, 0, len(c.byKind))
	for k := range c.byKind {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	by := map[string]int{}
	for _, k := range kinds {
		by[k] = c.byKind[k]
	}
	return InvariantSummary{Checks: c.checks.Load(), Violations: c.n.Load(), ByKind: by, First: append([]Violation(nil), c.kept...)}
}

// InvariantSummary is what the invariant checker found.
type InvariantSummary struct {
	Checks     int64          `json:"checks"`
	Violations int64          `json:"violations"`
	ByKind     map[string]int `json:"by_kind,omitempty"`
	// First lists the first violations found, in order.
	First []Violation `json:"first,omitempty"`
}

// Err returns an error describing the violations, or nil if there were none.
func (s InvariantSummary) Err() error {
	if s.Violations == 0 {
		return nil
	}
	msg := fmt.Sprintf("%d invariant violation(s)", s.Violations)
	for i, v := range s.First {
		if i == 5 {
			msg += fmt.Sprintf("; … and %d more", s.Violations-5)
			break
		}
		msg += fmt.Sprintf("; [%s at %s] %s", v.Kind, v.At, v.Message)
	}
	return fmt.Errorf("%s", msg)
}
