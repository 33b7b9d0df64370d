package sim

import (
	"context"

	"github.com/parcelguard/parcelguard/notify"
)

// Further hooks an Actor may implement besides MessageListener. The
// built-in model knows only the locker parcels it announced itself; an
// actor with parcels or people of its own (doorstep shipments, delegates)
// receives their notifications, checks its own invariants between ticks
// and at the end, and adds its section to the summary.

// MessageClaimer is an Actor that takes delivery of the notifications the
// locker model does not recognise as its own (another actor's recipients,
// delegates or parcels). It reports whether the message was its; a
// message nobody claims is a violation.
type MessageClaimer interface {
	ClaimMessage(ctx context.Context, w *World, r *notify.Rendered) bool
}

// TickObserver is an Actor that runs after every tick's actions, scheduler
// and outbox, before the invariant sweep, when nothing else changes
// anything.
type TickObserver interface {
	BetweenTicks(ctx context.Context, w *World)
}

// Finisher is an Actor with checks of its own at the end, after the
// scheduler and the outbox are drained and before the audit chains are
// verified.
type Finisher interface {
	Finish(ctx context.Context, w *World)
}

// Reporter is an Actor that adds its section to the summary.
type Reporter interface {
	Report(s *Summary)
}

// claim offers r to the actors that claim messages.
func (w *World) claim(ctx context.Context, r *notify.Rendered) bool {
	for _, a := range w.actors {
		if c, ok := a.(MessageClaimer); ok && c.ClaimMessage(ctx, w, r) {
			return true
		}
	}
	return false
}

// hear lets every MessageListener hear r.
func (w *World) hear(ctx context.Context, r *notify.Rendered) {
	for _, a := range w.actors {
		if l, ok := a.(MessageListener); ok {
			l.OnMessage(ctx, w, r)
		}
	}
}

// betweenTicks runs the actors' between-tick checks.
func (w *World) betweenTicks(ctx context.Context) {
	for _, a := range w.actors {
		if o, ok := a.(TickObserver); ok {
			o.BetweenTicks(ctx, w)
		}
	}
}

// finishActors runs the actors' final checks.
func (w *World) finishActors(ctx context.Context) {
	for _, a := range w.actors {
		if f, ok := a.(Finisher); ok {
			f.Finish(ctx, w)
		}
	}
}

// reportActors lets the actors add their sections to s.
func (w *World) reportActors(s *Summary) {
	for _, a := range w.actors {
		if r, ok := a.(Reporter); ok {
			r.Report(s)
		}
	}
}
