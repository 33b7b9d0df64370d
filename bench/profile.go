package bench

import (
	"bytes"
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
	var buf bytes.Buffer
	if err := pprof.StartCPUProfile(&buf); err != nil {
		return fmt.Errorf("cpu profile: %w", err)
	}
	err := fn()
	pprof.StopCPUProfile()
	p, perr := profile.Parse(&buf)
	if perr != nil {
		return fmt.Errorf("cpu profile: %w", perr)
	}
	for _, s := range p.Sample {
		if s.Label == nil {
			s.Label = map[string][]string{}
		}
		s.Label["phase"] = []string{phase}
	}
	pp.parts = append(pp.parts, p)
	return err
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
