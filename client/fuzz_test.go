package client

import (
	"errors"
	"net/http"
	"testing"
)

// FuzzDecodeProblem feeds arbitrary answers to the problem decoder. Ensure
// it never panics, always keeps the HTTP status, and returns an error that
// errors.As finds and that prints on one line.
func FuzzDecodeProblem(f *testing.F) {
	for _, seed := range []struct {
		status     int
		retryAfter string
		body       string
	}{
		{422, "", `{"type":"https://parcelguard.dev/problems/invalid","title":"Invalid input","status":422,"detail":"invalid input","errors":[{"location":"body.size","message":"must be one of S, M, L, XL"}]}`},
		{429, "30", `{"type":"https://parcelguard.dev/problems/rate_limited","title":"T","status":429}`},
		{503, "Wed, 21 Oct 2015 07:28:00 GMT", `<html><body>Bad gateway</body></html>`},
		{404, "-1", `{"type":"https://parcelguard.dev/problems/../../x","status":"404"}`},
		{500, "99999999999999999999", "\xff\xfe\x00"},
		{400, "", `{"type":1}`}, {401, "", ``}, {0, "", `null`}, {999, " 5 ", `{"type":"about:blank","errors":null}`},
	} {
		f.Add(seed.status, seed.retryAfter, []byte(seed.body))
	}
	f.Fuzz(func(t *testing.T, status int, retryAfter string, body []byte) {
		h := http.Header{}
		h.Set("Retry-After", retryAfter)
		e := decodeProblem(status, h, body)
		if e.Status != status || e.Type == "" || e.RetryAfter < 0 {
			t.Fatalf("decoded %+v", e)
		}
		var target *Error
		var err error = e
		if !errors.As(err, &target) || target != e {
			t.Fatal("errors.As does not find the *Error")
		}
		if e.Code != "" && !validCode(e.Code) {
			t.Fatalf("code %q", e.Code)
		}
		if len(e.Detail) > 4*maxDetail && e.Type == "about:blank" {
			t.Fatalf("detail of %d bytes", len(e.Detail))
		}
		_ = e.Error()
	})
}
