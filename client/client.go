package client

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxAnswer bounds the size of an answer the client reads.
const maxAnswer = 16 << 20

// RetryPolicy bounds retries. Attempts counts the first try.
type RetryPolicy struct {
	// MaxAttempts is how many times a call is tried at most; 1 disables
	// retries.
	MaxAttempts int
	// BaseDelay is the first backoff; it doubles per attempt up to
	// MaxDelay, with jitter.
	BaseDelay, MaxDelay time.Duration
	// MaxRetryAfter is the longest Retry-After the client waits out; a
	// longer one (a locker guard's block, say) is returned as the error.
	MaxRetryAfter time.Duration
}

// DefaultRetry is the retry policy of a new client.
var DefaultRetry = RetryPolicy{MaxAttempts: 4, BaseDelay: 200 * time.Millisecond, MaxDelay: 5 * time.Second, MaxRetryAfter: 10 * time.Second}

// Client calls parcelguard's API. It is safe for concurrent use.
type Client struct {
	base  *url.URL
	token string
	hc    *http.Client
	retry RetryPolicy
	agent string
}

// Option configures a Client.
type Option func(*Client)

// WithToken authenticates every call with token: an API key, or for the
// recipient's calls (Track, TrackCode, ExtendDeadline) a magic-link token.
func WithToken(token string) Option { return func(c *Client) { c.token = token } }

// WithHTTPClient sends requests through hc instead of a default client
// with a 30 s timeout.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithRetry replaces DefaultRetry.
func WithRetry(p RetryPolicy) Option { return func(c *Client) { c.retry = p } }

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(c *Client) { c.agent = ua } }

// New returns a client of the API at baseURL, such as
// "https://parcelguard.example".
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("client: base URL %q must be an absolute http or https URL", baseURL)
	}
	c := &Client{base: u, hc: &http.Client{Timeout: 30 * time.Second}, retry: DefaultRetry, agent: "parcelguard-go-client"}
	for _, o := range opts {
		o(c)
	}
	if c.retry.MaxAttempts < 1 {
		c.retry.MaxAttempts = 1
	}
	return c, nil
}

// WithToken returns a copy of c that authenticates with token.
func (c *Client) WithToken(token string) *Client {
	cp := *c
	cp.token = token
	return &cp
}

// CallOption adjusts one call.
type CallOption func(*call)

type call struct {
	idempotencyKey string
	replayed       *bool
	ifMatch        string
}

// AnyVersion, given as the version of UpdateSite or UpdateCarrier,
// applies the change to whatever version is current (If-Match: *),
// overwriting changes the caller has not seen.
const AnyVersion int64 = 0

// ifVersion makes a call conditional on the version of what it changes.
func ifVersion(v int64) CallOption {
	return func(c *call) {
		if v == AnyVersion {
			c.ifMatch = "*"
		} else {
			c.ifMatch = `"` + strconv.FormatInt(v, 10) + `"`
		}
	}
}

// IdempotencyKey makes a POST use key instead of a generated one, for
// callers that persist keys across process restarts.
func IdempotencyKey(key string) CallOption { return func(c *call) { c.idempotencyKey = key } }

// Replayed sets *b to whether the server answered a POST from its
// idempotency store rather than running it.
func Replayed(b *bool) CallOption { return func(c *call) { c.replayed = b } }

var keyEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewIdempotencyKey returns a fresh random key (128 bits).
func NewIdempotencyKey() string {
	var b [16]byte
	_, _ = crand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return strings.ToLower(keyEncoding.EncodeToString(b[:]))
}

// do sends one API call, with retries, and decodes a 2xx answer into out
// (unless nil).
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any, opts ...CallOption) error {
	var co call
	for _, o := range opts {
		o(&co)
	}
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("client: encode %s %s: %w", method, path, err)
		}
	}
	// path is built by the methods below, with ids escaped by seg.
	u := c.base.String() + path
	if q := query.Encode(); q != "" {
		u += "?" + q
	}

	// GET reads; every DELETE of this API is idempotent (doing it again
	// changes nothing); a POST is made so by its Idempotency-Key.
	idempotent := method == http.MethodGet || method == http.MethodHead || method == http.MethodDelete
	key := co.idempotencyKey
	if method == http.MethodPost {
		if key == "" {
			key = NewIdempotencyKey()
		}
		idempotent = true
	}
	for attempt := 1; ; attempt++ {
		wait, err := c.once(ctx, method, u, key, body, out, &co)
		if err == nil {
			return nil
		}
		var perr *Error
		isProblem := errors.As(err, &perr)
		switch {
		case ctx.Err() != nil:
			return err
		case attempt >= c.retry.MaxAttempts:
			return err
		case isProblem && !retryable(perr, idempotent):
			return err
		case !isProblem && !idempotent:
			return err // a connection error after sending: the call may have run
		case wait > c.retry.MaxRetryAfter:
			return err
		}
		if wait <= 0 {
			wait = c.backoff(attempt)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// retryable says whether an answer is worth another try. 429 is, for any
// method: the server refuses before doing anything. 503 and a key still in
// use only for idempotent calls.
func retryable(e *Error, idempotent bool) bool {
	switch {
	case e.Status == http.StatusTooManyRequests:
		return true
	case e.Status == http.StatusServiceUnavailable, e.Code == "idempotency_key_in_use":
		return idempotent
	}
	return false
}

// backoff returns the jittered exponential delay before attempt+1.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.retry.BaseDelay
	for i := 1; i < attempt && d < c.retry.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, c.retry.MaxDelay)
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d/2+1)
}

// once sends one request. It returns the server's Retry-After with a
// problem, and the transport's error as is.
func (c *Client) once(ctx context.Context, method, u, key string, body []byte, out any, co *call) (time.Duration, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, fmt.Errorf("client: %s %s: %w", method, u, err)
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	req.Header.Set("User-Agent", c.agent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	if co.ifMatch != "" {
		req.Header.Set("If-Match", co.ifMatch)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		// url.Error names the URL, which holds no secret: tokens travel
		// in headers only.
		return 0, fmt.Errorf("client: %w", err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, maxAnswer))
	if err != nil {
		return 0, fmt.Errorf("client: %s %s: read answer: %w", method, req.URL.Path, err)
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		e := decodeProblem(res.StatusCode, res.Header, data)
		return e.RetryAfter, e
	}
	if co.replayed != nil {
		*co.replayed = res.Header.Get("Idempotent-Replayed") == "true"
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return 0, fmt.Errorf("client: %s %s: decode answer: %w", method, req.URL.Path, err)
		}
	}
	return 0, nil
}

// seg escapes an id for use as one path segment.
func seg(id string) string { return url.PathEscape(id) }
