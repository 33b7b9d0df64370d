package bench

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// progress draws a one-line progress bar of the whole run on a terminal:
// the share of the planned phase time gone, the phase and its operations.
// A nil *progress draws nothing.
type progress struct {
	w      io.Writer
	phases int // planned phases
	per    time.Duration
	unit   string // what the phases count: "ops" unless told

	mu       sync.Mutex
	finished int           // phases done
	label    string        // current phase
	started  time.Time     // of the current phase
	limit    time.Duration // of the current phase
	ops      *atomic.Int64 // of the current phase
	stop     chan struct{}
	stopped  chan struct{}
}

// newProgress returns a progress bar of phases phases of up to per each,
// drawn on w; nil when w is nil.
func newProgress(w io.Writer, phases int, per time.Duration) *progress {
	if w == nil {
		return nil
	}
	return &progress{w: w, phases: phases, per: per, unit: "ops"}
}

// counting names what the phases count, such as "parcels".
func (p *progress) counting(unit string) *progress {
	if p != nil {
		p.unit = unit
	}
	return p
}

// setLabel names what the run is doing now (seeding, a phase).
func (p *progress) setLabel(s string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.label = s
	p.mu.Unlock()
	p.draw()
}

func (p *progress) startPhase(limit time.Duration, ops *atomic.Int64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.started, p.limit, p.ops = time.Now(), limit, ops
	p.stop, p.stopped = make(chan struct{}), make(chan struct{})
	stop, stopped := p.stop, p.stopped
	p.mu.Unlock()
	go func() {
		defer close(stopped)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			p.draw()
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
}

func (p *progress) endPhase() {
	if p == nil {
		return
	}
	p.mu.Lock()
	stop, stopped := p.stop, p.stopped
	p.stop = nil
	p.mu.Unlock()
	if stop != nil {
		close(stop)
		<-stopped
	}
	p.mu.Lock()
	p.finished++
	p.ops = nil
	p.mu.Unlock()
	p.draw()
}

// done clears the bar's line.
func (p *progress) done() {
	if p == nil {
		return
	}
	fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", 100))
}

const barWidth = 30

func (p *progress) draw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	total := time.Duration(p.phases) * p.per
	gone := time.Duration(p.finished) * p.per
	ops := ""
	if p.ops != nil {
		gone += min(time.Since(p.started), p.limit)
		ops = fmt.Sprintf(" %d %s", p.ops.Load(), p.unit)
	}
	frac := 1.0
	if total > 0 {
		frac = min(1, float64(gone)/float64(total))
	}
	n := int(frac * barWidth)
	line := fmt.Sprintf("[%s%s] %3.0f%% %s%s", strings.Repeat("#", n), strings.Repeat(".", barWidth-n), frac*100, p.label, ops)
	if len(line) > 99 {
		line = line[:99]
	}
	fmt.Fprintf(p.w, "\r%-99s", line)
}
