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

// run runs fn under the CPU profiler, labelling its samples phase.
func (pp *phaseProfiler) run(phase string, fn func() error) error {
	p, err := profiled(fn)
	if p == nil && err == nil {
		return errors.New("cpu profile: another CPU profile is running in this process")
	}
	pp.add(phase, p)
	return err
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

// profiled runs fn under the CPU profiler and returns fn's error and the
// profile. The process has one CPU profiler: if it is taken already (go
// test -cpuprofile), fn runs unprofiled and the profile is nil.
func profiled(fn func() error) (*profile.Profile, error) {
	var buf bytes.Buffer
	if pprof.StartCPUProfile(&buf) != nil {
		return nil, fn()
	}
	err := fn()
	pprof.StopCPUProfile()
	p, perr := profile.Parse(&buf)
	if perr != nil {
		return nil, errors.Join(err, fmt.Errorf("cpu profile: %w", perr))
	}
	return p, err
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
