package sim

import "html/template"

// doorstepCharts are the charts of the doorstep section (none without it).
func doorstepCharts(s *Summary) []template.HTML {
	d := s.Doorstep
	if d == nil {
		return nil
	}
	h := d.Hourly
	reasons := reasonsSorted(d.ByReason)
	counts := make([]float64, len(reasons))
	for i, r := range reasons {
		counts[i] = float64(d.ByReason[r])
	}
	out := []template.HTML{chart("Doorstep deliveries per simulated hour", "", []line{
		{"delivered", "#2ca02c", h["delivered"]}, {"failed attempts", "#d62728", h["failed_attempts"]},
		{"redirected to a locker", "#ff7f0e", h["redirected"]}, {"picked up there", "#1f77b4", h["redirect_picked_up"]},
		{"returned", "#8c564b", h["returned"]}})}
	if len(reasons) > 0 {
		out = append(out, bars("Failed doorstep attempts by reason", "", reasons, []line{{"attempts", "#d62728", counts}}))
	}
	return out
}

func init() { template.Must(reportPage.New("doorstep").Parse(doorstepSection)) }

// doorstepSection is the report's doorstep and delegate tables.
const doorstepSection = `{{with .S.Doorstep}}
<h2>Doorstep deliveries</h2>
<p>{{.Announced}} shipments to the door ({{pct .Config.PasswordShare}} with a delivery password, read by the recipients from their messages),
sent out on the courier's morning route, attempted during the day; the carrier allows {{.MaxAttempts}} attempts, then the parcel goes to the nearest locker with room.</p>
<table>
<tr><td>delivered / at the first attempt / to a delegate</td><td>{{.Delivered}} / {{.FirstAttempt}} / {{.ByDelegate}}</td></tr>
<tr><td>failed attempts (not_delivered: nobody tried, recorded at the end of the day)</td><td>{{.FailedAttempts}}</td></tr>
{{range $r, $n := .ByReason}}<tr><td>&nbsp;&nbsp;{{$r}}</td><td>{{$n}}</td></tr>
{{end}}<tr><td>lockouts after too many wrong passwords</td><td>{{.Lockouts}}</td></tr>
<tr><td>redirected to a locker / deposited there / picked up there</td><td>{{.Redirected}} / {{.RedirectDeposited}} / {{.RedirectPickedUp}}</td></tr>
<tr><td>returned to the sender</td><td>{{.Returned}}</td></tr>
<tr><td>still out or rescheduled at the end</td><td>{{.StillOpen}}</td></tr>
<tr><td>refused as they must be: claims from 5 km / earlier days' passwords / typos / second handovers / right password after a lockout</td>
<td>{{.FarClaimsRefused}} / {{.StalePasswordsRefused}} / {{.TyposRefused}} / {{.ReplaysRefused}} / {{.AfterLockoutRefused}}</td></tr>
</table>
{{end}}{{range .DoorstepCharts}}{{.}}
{{end}}{{with .S.LockerDelegates}}
<h2>Locker delegates</h2>
<p>{{.Parcels}} recipients named two delegates each; two of the three came to the locker one after the other. The first code used must end the others.</p>
<table>
<tr><td>codes read by delegates from their messages</td><td>{{.CodesRead}}</td></tr>
<tr><td>taken by a delegate / by the recipient</td><td>{{.PickedUpByDelegate}} / {{.PickedUpByRecipient}}</td></tr>
<tr><td>later codes refused / parcels with no usable grant left</td><td>{{.LaterCodesRefused}} / {{.OthersEndedChecked}}</td></tr>
</table>
{{end}}`
