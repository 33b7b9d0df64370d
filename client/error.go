package client

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// ProblemBase prefixes the type URI of parcelguard's problems; the code
// follows it.
const ProblemBase = "https://parcelguard.dev/problems/"

// Error is an API error: the RFC 9457 problem the server answered with.
type Error struct {
	// Status is the HTTP status of the answer.
	Status int
	// Type is the problem type URI, such as
	// https://parcelguard.dev/problems/not_found, or about:blank when the
	// answer was not a problem (a proxy's error page, say).
	Type string
	// Code is the last segment of a parcelguard problem type, such as
	// "not_found", "invalid", "rejected", "rate_limited"; "" for others.
	Code   string
	Title  string
	Detail string
	// Fields lists the offending input fields of an invalid request.
	Fields []FieldError
	// RetryAfter is the server's Retry-After, zero if it sent none.
	RetryAfter time.Duration
}

// FieldError names one invalid input field, by location such as
// "body.recipient.phone" or "query.limit".
type FieldError struct {
	Location string `json:"location,omitempty"`
	Message  string `json:"message"`
}

// Error renders the problem in one line.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("parcelguard: ")
	b.WriteString(strconv.Itoa(e.Status))
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	switch {
	case e.Detail != "":
		b.WriteString(": " + e.Detail)
	case e.Title != "":
		b.WriteString(": " + e.Title)
	}
	for i, f := range e.Fields {
		if i == 0 {
			b.WriteString(" (")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(f.Location + " " + f.Message)
		if i == len(e.Fields)-1 {
			b.WriteString(")")
		}
	}
	return b.String()
}

// Is matches target *Error values by the fields they set: Code if not
// empty, Status if not zero. So errors.Is(err, client.ErrNotFound) holds
// for any 404 not_found problem.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok || t.Code == "" && t.Status == 0 {
		return false
	}
	return (t.Code == "" || t.Code == e.Code) && (t.Status == 0 || t.Status == e.Status)
}

// Sentinels for errors.Is, one per problem code of the API.
var (
	ErrInvalid         = &Error{Code: "invalid"}
	ErrNotFound        = &Error{Code: "not_found"}
	ErrConflict        = &Error{Code: "conflict"}
	ErrUnauthorized    = &Error{Code: "unauthorized"}
	ErrForbidden       = &Error{Code: "forbidden"}
	ErrRejected        = &Error{Code: "rejected"}
	ErrLocked          = &Error{Code: "locked"}
	ErrThrottled       = &Error{Code: "throttled"}
	ErrRateLimited     = &Error{Code: "rate_limited"}
	ErrUnavailable     = &Error{Code: "unavailable"}
	ErrIdempotencyUsed = &Error{Code: "idempotency_key_reused"}
	ErrKeyInUse        = &Error{Code: "idempotency_key_in_use"}
	ErrNotReplayable   = &Error{Code: "not_replayable"}
	// ErrStaleVersion: a conditional change named a version that is no
	// longer current (412); read the thing again and redo the change.
	ErrStaleVersion = &Error{Code: "precondition_failed"}
	// ErrVersionRequired: a change that must name a version did not (428).
	ErrVersionRequired = &Error{Code: "precondition_required"}
)

// maxDetail bounds the text kept from an answer that is not a problem.
const maxDetail = 200

// problem is the wire form of an RFC 9457 problem.
type problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail"`
	Errors []FieldError `json:"errors"`
}

// decodeProblem turns a non-2xx answer into an *Error. It accepts any
// input: an answer that is not a problem becomes an about:blank Error with
// the HTTP status and a bounded, printable excerpt of the body.
func decodeProblem(status int, header http.Header, body []byte) *Error {
	e := &Error{Status: status, RetryAfter: parseRetryAfter(header.Get("Retry-After"), time.Now())}
	var p problem
	if err := json.Unmarshal(body, &p); err == nil && p.Type != "" {
		e.Type, e.Title, e.Detail, e.Fields = p.Type, p.Title, p.Detail, p.Errors
		if code, ok := strings.CutPrefix(p.Type, ProblemBase); ok && validCode(code) {
			e.Code = code
		}
		return e
	}
	e.Type, e.Title = "about:blank", http.StatusText(status)
	e.Detail = excerpt(body)
	return e
}

// validCode accepts the shape of parcelguard's problem codes.
func validCode(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r == '_') {
			return false
		}
	}
	return true
}

// excerpt returns the start of a non-problem body as one printable line.
func excerpt(body []byte) string {
	s := strings.ToValidUTF8(string(body[:min(len(body), 4*maxDetail)]), "")
	s = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return ' '
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > maxDetail {
		s = string(r[:maxDetail])
	}
	return s
}

// parseRetryAfter reads a Retry-After value: delay seconds or an HTTP
// date (RFC 9110 10.2.3). Anything else, or a time past, is zero.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, 24*3600)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), 24*time.Hour)
	}
	return 0
}
