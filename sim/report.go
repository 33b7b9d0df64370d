package sim

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"sort"
)

// WriteJSON writes the summary as indented JSON.
func WriteJSON(w io.Writer, s *Summary) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

// WriteHTML writes the report: one self-contained page (inline CSS and
// SVG, no scripts, nothing fetched from anywhere).
func WriteHTML(w io.Writer, s *Summary) error {
	return reportPage.Execute(w, reportData(s))
}

type reportView struct {
	S       *Summary
	Verdict string
	OK      bool
	Charts  []template.HTML
	Ops     []opRow
	PeakMiB float64
	// DoorstepCharts belong to the doorstep section.
	DoorstepCharts []template.HTML
}

type opRow struct {
	Name string
	P    Percentiles
}

func reportData(s *Summary) reportView {
	v := reportView{S: s, OK: s.Invariants.Violations == 0, PeakMiB: float64(s.Wall.PeakRSSBytes) / (1 << 20)}
	v.Verdict = "no invariant violated"
	if !v.OK {
		v.Verdict = fmt.Sprintf("%d invariant violation(s)", s.Invariants.Violations)
	}
	h := s.Hourly.Series
	pct := func(xs []float64) []float64 {
		out := make([]float64, len(xs))
		for i, x := range xs {
			out[i] = 100 * x
		}
		return out
	}
	perWallSecond := make([]float64, len(s.Hourly.WallSeconds))
	for i, sec := range s.Hourly.WallSeconds {
		perWallSecond[i] = math.NaN()
		if sec > 0.05 && i < len(h["service_calls"]) {
			perWallSecond[i] = h["service_calls"][i] / sec
		}
	}
	alarmsCum := make([]float64, len(s.Hourly.AlarmsCum))
	prev := 0.0
	for i, c := range s.Hourly.AlarmsCum {
		if c < prev { // an hour jumped over keeps the zero it was made with
			c = prev
		}
		alarmsCum[i], prev = c, c
	}
	v.Charts = []template.HTML{
		chart("Parcels per simulated hour", "", []line{
			{"arrived", "#888", h["arrived"]}, {"deposited", "#1f77b4", h["deposited"]},
			{"picked up", "#2ca02c", h["picked_up"]}, {"notifications", "#c7a0d9", h["notified"]}}),
		chart("Service calls per wall-clock second, by simulated hour", "/s", []line{{"calls/s", "#1f77b4", perWallSecond}}),
		chart("Compartments in use", "%", []line{{"network", "#1f77b4", pct(s.Hourly.Occupancy)}, {"attacked sites", "#d62728", pct(s.Hourly.AttackOcc)}}),
		chart("Expiries and returns per simulated hour", "", []line{
			{"reminded", "#bcbd22", h["reminded"]}, {"expired", "#d62728", h["expired"]},
			{"collected", "#ff7f0e", h["collected"]}, {"returned", "#8c564b", h["returned"]},
			{"deferred", "#888", h["deferred"]}}),
		chart("Attackers per simulated hour", "", []line{
			{"guesses", "#d62728", h["attacker_guesses"]}, {"turned away", "#ff9896", h["attacker_blocked"]}}),
		chart("Guessing alarms raised (cumulative)", "", []line{{"alarms", "#9467bd", alarmsCum}}),
	}
	v.DoorstepCharts = doorstepCharts(s)
	names := make([]string, 0, len(s.Latency))
	for k := range s.Latency {
		names = append(names, k)
	}
	sort.Strings(names)
	var p50, p95, p99 []float64
	for _, n := range names {
		p := s.Latency[n]
		v.Ops = append(v.Ops, opRow{n, p})
		p50, p95, p99 = append(p50, p.P50), append(p95, p.P95), append(p99, p.P99)
	}
	if len(names) > 0 {
		v.Charts = append(v.Charts, bars("Wall-clock latency per service call", " ms", names,
			[]line{{"p50", "#aec7e8", p50}, {"p95", "#1f77b4", p95}, {"p99", "#08306b", p99}}))
	}
	return v
}

var reportPage = template.Must(template.New("report").Funcs(template.FuncMap{
	"pct":  func(f float64) string { return fmt.Sprintf("%.2f %%", 100*f) },
	"prob": func(f float64) string { return fmt.Sprintf("%.9f", f) },
	"f1":   func(f float64) string { return fmt.Sprintf("%.1f", f) },
	"f3":   func(f float64) string { return fmt.Sprintf("%.3f", f) },
	"sci":  func(f float64) string { return fmt.Sprintf("%.2e", f) },
	"mins": func(sec float64) string {
		if sec < 0 {
			return "none raised"
		}
		return fmt.Sprintf("%.0f min", sec/60)
	},
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>parcelguard simulation — {{.S.Config.Preset}} × {{.S.Config.Scale}}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;max-width:900px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0}td,th{padding:2px 10px;border-bottom:1px solid #eee;text-align:right}
td:first-child,th:first-child{text-align:left}
.ok{color:#176e2a;font-weight:bold}.bad{color:#b00020;font-weight:bold}
svg{width:100%;height:auto;margin:1em 0}svg .t{font-weight:bold;font-size:13px}svg .a{font-size:11px;fill:#444}svg .g{stroke:#e6e6e6}
</style></head><body>
<h1>parcelguard network simulation</h1>
<p>Preset <b>{{.S.Config.Preset}}</b> at scale {{.S.Config.Scale}} on {{.S.Engine}}, seed {{.S.Config.Seed}}:
{{.S.Network.Sites}} sites, {{.S.Network.Compartments}} compartments, {{.S.Parcels.Arrived}} parcels,
{{f1 .S.Wall.SimulatedDays}} simulated days from {{.S.SimStart.Format "2006-01-02 15:04 MST"}}.
Result: <span class="{{if .OK}}ok{{else}}bad{{end}}">{{.Verdict}}</span> in {{.S.Invariants.Checks}} checks.</p>

<h2>Cost</h2>
<table>
<tr><td>wall time (seed / run / total)</td><td>{{f1 .S.Wall.SeedSeconds}} s / {{f1 .S.Wall.RunSeconds}} s / {{f1 .S.Wall.TotalSeconds}} s</td></tr>
<tr><td>parcels per wall second (run)</td><td>{{f1 .S.Wall.ParcelsPerSecond}}</td></tr>
<tr><td>service calls per wall second</td><td>{{f1 .S.Wall.ServiceCallsPerSecond}}</td></tr>
<tr><td>peak resident memory</td><td>{{f1 .PeakMiB}} MiB</td></tr>
<tr><td>ticks run / skipped idle</td><td>{{.S.Ticks}} / {{.S.TicksSkipped}}</td></tr>
<tr><td>GOMAXPROCS, Go, load average at the end</td><td>{{.S.Wall.GoMaxProcs}}, {{.S.Wall.GoVersion}}, {{f1 .S.Wall.LoadAverage}}</td></tr>
</table>

<h2>Parcels</h2>
<table>
<tr><td>arrived / deposited</td><td>{{.S.Parcels.Arrived}} / {{.S.Parcels.Deposited}}</td></tr>
<tr><td>picked up</td><td>{{.S.Parcels.PickedUp}}</td></tr>
<tr><td>reminded / expired / collected / returned</td><td>{{.S.Parcels.Reminded}} / {{.S.Parcels.Expired}} / {{.S.Parcels.Collected}} / {{.S.Parcels.Returned}}</td></tr>
<tr><td>recipients who never came</td><td>{{.S.Parcels.RecipientsNever}}</td></tr>
<tr><td>mistyped PINs / used codes presented again</td><td>{{.S.Parcels.Typos}} / {{.S.Parcels.Replays}}</td></tr>
<tr><td>refused after the deadline</td><td>{{.S.Parcels.LateRefused}}</td></tr>
<tr><td>courier rounds a parcel waited for room</td><td>{{.S.Parcels.DeferredRounds}}</td></tr>
<tr><td>never deposited / still in a locker at the end</td><td>{{.S.Parcels.NeverDeposited}} / {{.S.Parcels.StillInLocker}}</td></tr>
<tr><td>calls repeated after "concurrent update; retry"</td><td>{{.S.ConflictRetries}}</td></tr>
<tr><td>notifications delivered</td><td>{{.S.Notifications}}</td></tr>
<tr><td>occupancy peak / mean</td><td>{{pct .S.Occupancy.Peak}} / {{pct .S.Occupancy.Mean}}</td></tr>
<tr><td>deposit → pickup p50 / p95 / p99 (h)</td><td>{{f1 .S.Dwell.P50}} / {{f1 .S.Dwell.P95}} / {{f1 .S.Dwell.P99}}</td></tr>
<tr><td>announce → deposit p50 / p95 / p99 (h)</td><td>{{f1 .S.WaitForLocker.P50}} / {{f1 .S.WaitForLocker.P95}} / {{f1 .S.WaitForLocker.P99}}</td></tr>
</table>
{{range .Charts}}{{.}}
{{end}}
{{template "doorstep" .}}
<h2>Latency (wall clock, ms)</h2>
<table><tr><th>operation</th><th>count</th><th>mean</th><th>p50</th><th>p95</th><th>p99</th><th>max</th></tr>
{{range .Ops}}<tr><td>{{.Name}}</td><td>{{.P.Count}}</td><td>{{f3 .P.Mean}}</td><td>{{f3 .P.P50}}</td><td>{{f3 .P.P95}}</td><td>{{f3 .P.P99}}</td><td>{{f3 .P.Max}}</td></tr>
{{end}}</table>

<h2>Attack</h2>
{{with .S.Attack}}
<p>{{.Attackers}} attacker(s), each at one of the largest lockers, typing random PINs and phone digits as fast as the locker guard allows for {{$.S.Config.AttackFor}}.</p>
<table>
<tr><th></th><th>analytic bound</th><th>simulated</th></tr>
<tr><td>guesses per attacker</td><td>{{.Bound.FastestGuesses}} at the fastest pace; at most {{.Bound.MaxGuesses}} at any pace ({{.Bound.UnalarmedGuesses}} without an alarm) in {{.Bound.Period}}</td><td>{{f1 .GuessesPerAttacker}}</td></tr>
<tr><td>active grants at the locker</td><td>{{.Bound.Compartments}} (full)</td><td>as occupied at each guess</td></tr>
<tr><td>P(a guess opens a compartment)</td><td>{{sci .Bound.PerGuess}}</td><td></td></tr>
<tr><td>P(nothing opens)</td><td>{{prob .Bound.PNothingOpens}} (after {{.Bound.MaxGuesses}} guesses)</td><td>{{prob .SimulatedPNothingOpens}}</td></tr>
<tr><td>bar: P(nothing opens) ≥ 0.9999</td><td class="{{if .Bound.MeetsBar}}ok{{else}}bad{{end}}">{{if .Bound.MeetsBar}}met{{else}}missed{{end}}</td><td class="{{if .MeetsBar}}ok{{else}}bad{{end}}">{{if .MeetsBar}}met{{else}}missed{{end}}</td></tr>
<tr><td>compartments opened by attackers</td><td></td><td>{{.Opened}}</td></tr>
<tr><td>guesses made / attempts turned away</td><td></td><td>{{.Guesses}} / {{.Blocked}}</td></tr>
<tr><td>alarms at attacked sites / guess of first alarm</td><td>at guess {{.Bound.AlarmAtGuess}}</td><td>{{.Alarms}}</td></tr>
<tr><td>time to first alarm (slowest attacked site)</td><td></td><td>{{mins .FirstAlarmSeconds}}</td></tr>
<tr><td>recipients at attacked sites held up by the guard's delays</td><td></td><td>{{.RecipientsDelayed}}</td></tr>
<tr><td>their delay p50 / p95 / max (min)</td><td></td><td>{{f1 .RecipientDelay.P50}} / {{f1 .RecipientDelay.P95}} / {{f1 .RecipientDelay.Max}}</td></tr>
<tr><td>recipients elsewhere held up (by others' typos and replays)</td><td></td><td>{{.ElsewhereDelayed}}</td></tr>
<tr><td>their delay p50 / p95 / max (min)</td><td></td><td>{{f1 .ElsewhereDelay.P50}} / {{f1 .ElsewhereDelay.P95}} / {{f1 .ElsewhereDelay.Max}}</td></tr>
</table>
<p>Recipients with the QR code are never held up: the guard counts only PIN attempts. A PIN user the guard turns away waits out the delay shown once; turned away again, they scan the QR code, as the kiosk suggests.</p>
{{end}}

<h2>Alarms and audit</h2>
<table>
<tr><td>guessing alarms (all sites)</td><td>{{.S.Alarms.Guessing}}</td></tr>
<tr><td>notifications given up</td><td>{{.S.Alarms.NotificationsDead}}</td></tr>
<tr><td>audit chains / events</td><td>{{.S.Audit.Streams}} / {{.S.Audit.Events}}</td></tr>
<tr><td>audit chains verify</td><td class="{{if .S.Audit.OK}}ok{{else}}bad{{end}}">{{if .S.Audit.OK}}yes{{else}}NO{{end}}</td></tr>
</table>

<h2>Invariants</h2>
<p>Checked continuously: one parcel per compartment and compartment state matching its contents; occupancy counts equal to what the simulation put in;
a grant opens at most once (replayed codes must fail); the door that opens is the parcel's; no pickup at or after the deadline and no refusal before it;
expiry only at the deadline; return queues exact; no notification sent twice. At the end: every site again, no notification lost,
sampled parcels' state and audit history, every audit chain.</p>
{{if .OK}}<p class="ok">No violation.</p>{{else}}
<table><tr><th>kind</th><th>count</th></tr>{{range $k, $n := .S.Invariants.ByKind}}<tr><td>{{$k}}</td><td>{{$n}}</td></tr>{{end}}</table>
<table><tr><th>kind</th><th>at</th><th>what</th></tr>{{range .S.Invariants.First}}<tr><td>{{.Kind}}</td><td>{{.At}}</td><td style="text-align:left">{{.Message}}</td></tr>{{end}}</table>
{{end}}
</body></html>
`))
