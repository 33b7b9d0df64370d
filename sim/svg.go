package sim

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// line is one series of a chart.
type line struct {
	Name   string
	Color  string
	Values []float64
}

// chart draws series over simulated hours as a self-contained SVG line
// chart (no scripts, no external resources).
func chart(title, unit string, lines []line) template.HTML {
	const (
		width, height       = 760, 240
		left, right, top, b = 56, 12, 28, 34
	)
	n := 0
	maxV := 0.0
	for _, l := range lines {
		n = max(n, len(l.Values))
		for _, v := range l.Values {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				maxV = max(maxV, v)
			}
		}
	}
	if maxV == 0 {
		maxV = 1
	}
	maxV = niceCeil(maxV)
	pw, ph := float64(width-left-right), float64(height-top-b)
	x := func(i int) float64 {
		if n <= 1 {
			return float64(left)
		}
		return float64(left) + pw*float64(i)/float64(n-1)
	}
	y := func(v float64) float64 { return float64(top) + ph*(1-v/maxV) }

	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" role="img" aria-label="%s">`, width, height, template.HTMLEscapeString(title))
	fmt.Fprintf(&sb, `<text x="%d" y="18" class="t">%s</text>`, left, template.HTMLEscapeString(title))
	for i := 0; i <= 4; i++ {
		v := maxV * float64(i) / 4
		fmt.Fprintf(&sb, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" class="g"/>`, left, width-right, y(v), y(v))
		fmt.Fprintf(&sb, `<text x="%d" y="%.1f" class="a" text-anchor="end">%s</text>`, left-6, y(v)+4, fmtNum(v)+unit)
	}
	for h := 0; h < n; h += 24 {
		fmt.Fprintf(&sb, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" class="g"/>`, x(h), x(h), top, height-b)
		fmt.Fprintf(&sb, `<text x="%.1f" y="%d" class="a" text-anchor="middle">day %d</text>`, x(h), height-b+16, h/24+1)
	}
	for li, l := range lines {
		var pts strings.Builder
		for i, v := range l.Values {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			fmt.Fprintf(&pts, "%.1f,%.1f ", x(i), y(v))
		}
		fmt.Fprintf(&sb, `<polyline fill="none" stroke="%s" stroke-width="1.6" points="%s"/>`, l.Color, strings.TrimSpace(pts.String()))
		lx := left + 8 + li*150
		fmt.Fprintf(&sb, `<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d" class="a">%s</text>`,
			lx, height-12, l.Color, lx+14, height-3, template.HTMLEscapeString(l.Name))
	}
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String()) // built from numbers and escaped names only
}

// bars draws labelled horizontal bar groups (such as latency percentiles
// per operation) as SVG.
func bars(title, unit string, labels []string, groups []line) template.HTML {
	const rowH, left, width = 18, 150, 760
	height := 40 + rowH*len(labels)*len(groups) + 6*len(labels)
	maxV := 0.0
	for _, g := range groups {
		for _, v := range g.Values {
			maxV = max(maxV, v)
		}
	}
	if maxV == 0 {
		maxV = 1
	}
	maxV = niceCeil(maxV)
	pw := float64(width - left - 70)
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" role="img" aria-label="%s">`, width, height, template.HTMLEscapeString(title))
	fmt.Fprintf(&sb, `<text x="8" y="18" class="t">%s</text>`, template.HTMLEscapeString(title))
	yy := 30
	for i, lab := range labels {
		fmt.Fprintf(&sb, `<text x="%d" y="%d" class="a" text-anchor="end">%s</text>`, left-6, yy+rowH*len(groups)/2+4, template.HTMLEscapeString(lab))
		for _, g := range groups {
			v := g.Values[i]
			fmt.Fprintf(&sb, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`, left, yy, pw*v/maxV, rowH-3, g.Color)
			fmt.Fprintf(&sb, `<text x="%.1f" y="%d" class="a">%s %s</text>`, float64(left)+pw*v/maxV+4, yy+rowH-6, fmtNum(v)+unit, g.Name)
			yy += rowH
		}
		yy += 6
	}
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String())
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func fmtNum(v float64) string {
	switch {
	case v == 0:
		return "0"
	case math.Abs(v) >= 1e6:
		return fmt.Sprintf("%.1fM", v/1e6)
	case math.Abs(v) >= 1e4:
		return fmt.Sprintf("%.0fk", v/1e3)
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 1:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.3g", v)
}
