package http

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/service"
)

// problemBase prefixes every problem type URI; the code follows it.
const problemBase = "https://parcelguard.dev/problems/"

// problemContentType is the media type of RFC 9457 problem details.
const problemContentType = "application/problem+json"

// Problem codes for failures the transport finds before any use case runs;
// the domain's codes (parcelguard.EINVALID ...) cover everything else.
const (
	codeMalformed        = "malformed"
	codeTooLarge         = "too_large"
	codeMethodNotAllowed = "method_not_allowed"
	codeUnsupportedMedia = "unsupported_media_type"
	codeNotAcceptable    = "not_acceptable"
	codeTimeout          = "timeout"
	// codeRateLimited is a spent rate-limit bucket; "throttled" is the
	// locker guard slowing down code guessing.
	codeRateLimited = "rate_limited"
	// Idempotency-Key problems (see idempotency.go).
	codeIdempotencyReused = "idempotency_key_reused"
	codeIdempotencyInUse  = "idempotency_key_in_use"
	codeNotReplayable     = "not_replayable"
)

type problemKind struct {
	status int
	title  string
}

// problemKinds is the one table that maps error codes to HTTP statuses.
//
// Input that parses but breaks a rule is 422, whether huma's schema or the
// domain finds it, so clients see one status for "fix these fields"; input
// that does not parse at all is 400. A rejected pickup code is 403: the
// kiosk is authenticated, the code it relays is what was refused.
var problemKinds = map[string]problemKind{
	parcelguard.EINVALID:      {http.StatusUnprocessableEntity, "Invalid input"},
	parcelguard.ENOTFOUND:     {http.StatusNotFound, "Not found"},
	parcelguard.ECONFLICT:     {http.StatusConflict, "Conflict"},
	parcelguard.EUNAUTHORIZED: {http.StatusUnauthorized, "Authentication required"},
	parcelguard.EFORBIDDEN:    {http.StatusForbidden, "Forbidden"},
	parcelguard.EREJECTED:     {http.StatusForbidden, "Code not accepted"},
	parcelguard.ELOCKED:       {http.StatusLocked, "Code disabled"},
	parcelguard.ETHROTTLED:    {http.StatusTooManyRequests, "Too many attempts"},
	parcelguard.EUNAVAILABLE:  {http.StatusServiceUnavailable, "Service unavailable"},
	parcelguard.EINTERNAL:     {http.StatusInternalServerError, "Internal error"},
	// Conditional updates (versions.go).
	parcelguard.EPRECONDITION:   {http.StatusPreconditionFailed, "Precondition failed"},
	parcelguard.ENOPRECONDITION: {http.StatusPreconditionRequired, "Precondition required"},

	codeMalformed:        {http.StatusBadRequest, "Malformed request"},
	codeTooLarge:         {http.StatusRequestEntityTooLarge, "Request body too large"},
	codeMethodNotAllowed: {http.StatusMethodNotAllowed, "Method not allowed"},
	codeUnsupportedMedia: {http.StatusUnsupportedMediaType, "Unsupported media type"},
	codeNotAcceptable:    {http.StatusNotAcceptable, "Not acceptable"},
	codeTimeout:          {http.StatusRequestTimeout, "Request timeout"},

	codeRateLimited:       {http.StatusTooManyRequests, "Rate limit exceeded"},
	codeIdempotencyReused: {http.StatusUnprocessableEntity, "Idempotency-Key reused with another request"},
	codeIdempotencyInUse:  {http.StatusConflict, "Idempotency-Key in use"},
	codeNotReplayable:     {http.StatusConflict, "Answer not replayable"},
}

// codeOfStatus classifies the errors huma raises itself (schema validation,
// unreadable bodies), which carry only a status.
var codeOfStatus = map[int]string{
	http.StatusBadRequest:            codeMalformed,
	http.StatusUnauthorized:          parcelguard.EUNAUTHORIZED,
	http.StatusForbidden:             parcelguard.EFORBIDDEN,
	http.StatusNotFound:              parcelguard.ENOTFOUND,
	http.StatusMethodNotAllowed:      codeMethodNotAllowed,
	http.StatusNotAcceptable:         codeNotAcceptable,
	http.StatusRequestTimeout:        codeTimeout,
	http.StatusConflict:              parcelguard.ECONFLICT,
	http.StatusRequestEntityTooLarge: codeTooLarge,
	http.StatusPreconditionFailed:    parcelguard.EPRECONDITION,
	http.StatusPreconditionRequired:  parcelguard.ENOPRECONDITION,
	http.StatusUnsupportedMediaType:  codeUnsupportedMedia,
	http.StatusUnprocessableEntity:   parcelguard.EINVALID,
	http.StatusLocked:                parcelguard.ELOCKED,
	http.StatusTooManyRequests:       parcelguard.ETHROTTLED,
	http.StatusInternalServerError:   parcelguard.EINTERNAL,
	http.StatusServiceUnavailable:    parcelguard.EUNAVAILABLE,
}

// fieldAliases renames domain field names whose JSON name differs.
var fieldAliases = map[string]string{
	"storage_period": "storage_period_seconds",
}

// internalDetail is all a client learns about an internal error.
const internalDetail = "internal error"

// unavailableRetry is the Retry-After sent with a 503 that names no delay.
const unavailableRetry = 5 * time.Second

// Problem is an RFC 9457 problem detail: the body of every error response.
type Problem struct {
	Type   string         `json:"type" format:"uri" doc:"Identifies the kind of problem, such as https://parcelguard.dev/problems/invalid."`
	Title  string         `json:"title" doc:"A short summary of the kind of problem."`
	Status int            `json:"status" doc:"The HTTP status code."`
	Detail string         `json:"detail,omitempty" doc:"What went wrong this time."`
	Errors []ProblemField `json:"errors,omitempty" nullable:"false" doc:"The offending input fields, for invalid input."`
	// ProposedSite is the extension member of a full-locker refusal under
	// a carrier's "propose" policy.
	ProposedSite *ProposedSite `json:"proposed_site,omitempty" doc:"When the chosen locker is full and the carrier's policy is to propose: the nearest locker with a free compartment of the parcel's size."`

	headers http.Header
}

// ProposedSite is a locker proposed instead of a full one.
type ProposedSite struct {
	SiteID    string  `json:"site_id"`
	Name      string  `json:"name"`
	Address   string  `json:"address"`
	DistanceM float64 `json:"distance_m" doc:"From the chosen locker, in metres."`
}

// ProblemField names one offending input field. Location is a path such as
// "body.recipient.phone" or "query.limit". The offending value is never
// echoed back: it may be a PIN or a key.
type ProblemField struct {
	Location string `json:"location,omitempty" doc:"Where the field is, such as body.recipient.phone."`
	Message  string `json:"message" doc:"What is wrong with it."`
}

// Error returns the problem's detail.
func (p *Problem) Error() string { return p.Detail }

// GetStatus returns the HTTP status; huma uses it to write the response.
func (p *Problem) GetStatus() int { return p.Status }

// GetHeaders returns extra response headers (Retry-After,
// WWW-Authenticate); huma adds them to the response.
func (p *Problem) GetHeaders() http.Header { return p.headers }

// ContentType makes huma send problems as application/problem+json.
func (p *Problem) ContentType(string) string { return problemContentType }

// newProblem returns the problem of a code; unknown codes are internal.
func newProblem(code, detail string) *Problem {
	kind, ok := problemKinds[code]
	if !ok {
		code, kind = parcelguard.EINTERNAL, problemKinds[parcelguard.EINTERNAL]
	}
	if code == parcelguard.EINTERNAL {
		detail = internalDetail
	}
	return &Problem{Type: problemBase + code, Title: kind.title, Status: kind.status, Detail: detail}
}

// problemOf translates an error from a use case into a problem.
func problemOf(err error) *Problem {
	code := parcelguard.ErrorCode(err)
	p := newProblem(code, parcelguard.ErrorMessage(err))
	var e *parcelguard.Error
	if errors.As(err, &e) && p.Status < 500 {
		for _, f := range e.Fields {
			p.Errors = append(p.Errors, ProblemField{Location: fieldLocation(f.Field), Message: f.Message})
		}
	}
	var full *service.FullLockerError
	if errors.As(err, &full) {
		pr := full.Proposal
		p.ProposedSite = &ProposedSite{SiteID: pr.SiteID, Name: pr.Name, Address: pr.Address, DistanceM: roundM(pr.DistanceM)}
	}
	switch p.Status {
	case http.StatusUnauthorized:
		p.setHeader("WWW-Authenticate", `Bearer realm="parcelguard"`)
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		wait := unavailableRetry
		if e != nil && e.RetryAfter > 0 {
			wait = e.RetryAfter
		}
		p.setHeader("Retry-After", retryAfterSeconds(wait))
	}
	return p
}

// problem translates err for the client and logs what the client must not
// see. Only the error is logged, never the request: its body may hold a PIN.
func (s *Server) problem(ctx context.Context, err error) *Problem {
	p := problemOf(err)
	switch p.Status {
	case http.StatusInternalServerError:
		s.log.LogAttrs(ctx, slog.LevelError, "internal error", append(requestAttrs(ctx), slog.Any("err", err))...)
	case http.StatusServiceUnavailable:
		s.log.LogAttrs(ctx, slog.LevelWarn, "unavailable", append(requestAttrs(ctx), slog.Any("err", err))...)
	}
	return p
}

func (p *Problem) setHeader(name, value string) {
	if p.headers == nil {
		p.headers = http.Header{}
	}
	p.headers.Set(name, value)
}

// fieldLocation turns a domain field name into a location in the request.
// Use cases only validate bodies (path ids are looked up, not validated).
func fieldLocation(field string) string {
	if alias, ok := fieldAliases[field]; ok {
		field = alias
	}
	return "body." + field
}

// retryAfterSeconds renders d as Retry-After seconds, rounded up so a
// client never comes back too early.
func retryAfterSeconds(d time.Duration) string {
	secs := int64((d + time.Second - 1) / time.Second)
	return strconv.FormatInt(max(secs, 1), 10)
}

// writeProblem writes p to a plain net/http response.
func writeProblem(w http.ResponseWriter, p *Problem) {
	h := w.Header()
	for name, values := range p.headers {
		h[name] = values
	}
	h.Set("Content-Type", problemContentType)
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p) // the client went away; nothing to do
}

// writeUnmatched answers a request no route matched: 405 when the path
// exists with other methods, else 404. h is the mux's own answer, which we
// run against a scratch writer only to learn which of the two it is.
func (s *Server) writeUnmatched(w http.ResponseWriter, r *http.Request, h http.Handler) {
	scratch := &scratchWriter{header: http.Header{}}
	h.ServeHTTP(scratch, r)
	if scratch.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", scratch.header.Get("Allow"))
		writeProblem(w, newProblem(codeMethodNotAllowed, "method not allowed for this path"))
		return
	}
	writeProblem(w, newProblem(parcelguard.ENOTFOUND, "no such route"))
}

// scratchWriter records a status and headers and drops the body.
type scratchWriter struct {
	header http.Header
	status int
}

func (w *scratchWriter) Header() http.Header         { return w.header }
func (w *scratchWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *scratchWriter) WriteHeader(status int)      { w.status = status }

// init makes huma build its own errors (failed schema validation, bodies
// too large or unparsable) as Problems too, so every error response has the
// same shape. huma offers only these package variables for that, so this is
// process-wide; it is done once here rather than in NewServer so that
// servers created concurrently do not race on it.
func init() {
	huma.NewError = newHumaError
	huma.NewErrorWithContext = func(ctx huma.Context, status int, msg string, errs ...error) huma.StatusError {
		if status >= 500 && ctx != nil {
			// The details are dropped from the response; keep them in the log.
			if info := requestInfoFrom(ctx.Context()); info != nil && info.log != nil {
				info.log.LogAttrs(ctx.Context(), slog.LevelError, "internal error",
					append(requestAttrs(ctx.Context()), slog.String("err", msg), slog.Any("causes", errs))...)
			}
		}
		return newHumaError(status, msg, errs...)
	}
}

// newHumaError builds a Problem from the status, message and details huma
// gives. Field values huma would echo back are dropped: a rejected field may
// hold a PIN. Internal errors lose their details, which are for logs only.
func newHumaError(status int, msg string, errs ...error) huma.StatusError {
	if status == 0 {
		// huma asks for a zero error to learn the error schema.
		return &Problem{}
	}
	code, ok := codeOfStatus[status]
	if !ok {
		return &Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: msg}
	}
	p := newProblem(code, msg)
	if p.Status >= 500 {
		return p
	}
	for _, err := range errs {
		var d huma.ErrorDetailer
		switch {
		case err == nil:
		case errors.As(err, &d):
			detail := d.ErrorDetail()
			p.Errors = append(p.Errors, ProblemField{Location: detail.Location, Message: detail.Message})
		default:
			p.Errors = append(p.Errors, ProblemField{Message: err.Error()})
		}
	}
	return p
}
