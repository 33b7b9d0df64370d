package bench

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime/pprof"

	"github.com/google/pprof/profile"
)

// phaseProfiler profiles chosen phases only (the service's, not the
// floor's or the seeding), each sample labelled with its phase, so that
// `go tool pprof -tagfocus phase=deposit` shows one operation.
type phaseProfiler struct {
	parts []*profile.Profile
}

// profileStep runs fn under the CPU profiler if it is free and returns
// fn's error and the profile (nil if fn ran unprofiled). With pp set, the
// profile is required (an error before fn runs if it cannot be had) and
// pp keeps a copy, its samples labelled phase.
func profileStep(phase string, pp *phaseProfiler, fn func() error) (*profile.Profile, error) {
	stop, err := startProfile()
	if err != nil {
		if pp != nil {
			return nil, err
		}
		return nil, fn()
	}
	err = fn()
	p, perr := stop()
	if perr != nil {
		return nil, errors.Join(err, perr)
	}
	if pp != nil {
		pp.add(phase, p.Copy())
	}
	return p, err
}

// add labels p's samples phase and keeps it; a nil p is skipped.
func (pp *phaseProfiler) add(phase string, p *profile.Profile) {
	if p == nil {
		return
	}
	for _, s := range p.Sample {
		if s.Label == nil {
			s.Label = map[string][]string{}
		}
		s.Label["phase"] = []string{phase}
	}
	pp.parts = append(pp.parts, p)
}

// errProfilerTaken says the process's one CPU profiler is running already
// (go test -cpuprofile, say).
var errProfilerTaken = errors.New("cpu profile: another CPU profile is running in this process")

// startProfile starts the CPU profiler; stop stops it and parses what it
// recorded.
func startProfile() (stop func() (*profile.Profile, error), err error) {
	var buf bytes.Buffer
	if pprof.StartCPUProfile(&buf) != nil {
		return nil, errProfilerTaken
	}
	return func() (*profile.Profile, error) {
		pprof.StopCPUProfile()
		p, err := profile.Parse(&buf)
		if err != nil {
			return nil, fmt.Errorf("cpu profile: %w", err)
		}
		return p, nil
	}, nil
}

// write writes the phases' profiles merged into one.
func (pp *phaseProfiler) write(w io.Writer) error {
	if len(pp.parts) == 0 {
		return nil
	}
	m, err := profile.Merge(pp.parts)
	if err != nil {
		return fmt.Errorf("cpu profile: %w", err)
	}
	if err := m.Write(w); err != nil {
		return fmt.Errorf("cpu profile: %w", err)
	}
	return nil
}
