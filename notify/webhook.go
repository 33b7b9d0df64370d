package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/parcelguard/parcelguard"
)

// Webhook headers. SignatureHeader carries "t=<unix seconds>,v1=<hex>"
// with one v1 per active secret; see VerifyWebhook and docs/webhooks.md.
const (
	SignatureHeader      = "Parcelguard-Signature"
	EventTypeHeader      = "Parcelguard-Event"
	IdempotencyKeyHeader = "Idempotency-Key"
)

// DefaultWebhookTolerance is how far a signature's timestamp may be from
// the receiver's clock before VerifyWebhook refuses it (replay window).
const DefaultWebhookTolerance = 5 * time.Minute

// WebhookSender posts signed events to carriers' endpoints.
type WebhookSender struct {
	endpoints map[string]WebhookConfig
	clock     parcelguard.Clock
	client    *http.Client
}

// NewWebhookSender returns a sender for the carriers' endpoints; a nil
// client means a default one (each request is bounded by the endpoint's
// Timeout anyway).
func NewWebhookSender(endpoints map[string]WebhookConfig, clock parcelguard.Clock, client *http.Client) *WebhookSender {
	if client == nil {
		client = &http.Client{}
	}
	return &WebhookSender{endpoints: endpoints, clock: clock, client: client}
}

// Has reports whether the carrier has an endpoint.
func (s *WebhookSender) Has(carrierID string) bool {
	_, ok := s.endpoints[carrierID]
	return ok
}

// Send posts r.Body to the endpoint of carrier r.To, signed with every
// secret of the endpoint.
func (s *WebhookSender) Send(ctx context.Context, r *Rendered) error {
	ep, ok := s.endpoints[r.To]
	if !ok {
		return Permanent(fmt.Errorf("webhook: carrier %s has no endpoint", r.To))
	}
	timeout := ep.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(r.Body))
	if err != nil {
		return Permanent(fmt.Errorf("webhook: %w", err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "parcelguard-webhooks/1")
	req.Header.Set(IdempotencyKeyHeader, r.IdempotencyKey)
	req.Header.Set(EventTypeHeader, r.EventType)
	req.Header.Set(SignatureHeader, SignWebhook(r.Body, s.clock.Now(), ep.Secrets...))
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("webhook to carrier %s: %w", r.To, redactURLError(err))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return statusError("webhook to carrier "+r.To, resp, s.clock.Now())
}

// SignWebhook returns the signature header value for body at time t:
// "t=<unix>,v1=<hex HMAC-SHA256(secret, "<unix>.<body>")>" with one v1
// entry per secret, so a receiver holding either secret of a rotation
// accepts it.
func SignWebhook(body []byte, t time.Time, secrets ...Secret) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	var b strings.Builder
	b.WriteString("t=" + ts)
	for _, s := range secrets {
		b.WriteString(",v1=" + hex.EncodeToString(webhookMAC([]byte(s.Reveal()), ts, body)))
	}
	return b.String()
}

func webhookMAC(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Webhook verification errors.
var (
	ErrWebhookMalformed = errors.New("webhook signature header malformed")
	ErrWebhookStale     = errors.New("webhook timestamp outside the tolerance")
	ErrWebhookSignature = errors.New("webhook signature does not match")
)

// VerifyWebhook is the receiver's check, the recipe of docs/webhooks.md:
// parse t and every v1 from the header, refuse a timestamp more than
// tolerance (DefaultWebhookTolerance if zero) from now, compute
// HMAC-SHA256(secret, t + "." + body) for each of the receiver's secrets
// and accept if any equals any v1, compared in constant time. The body must
// be the raw bytes received, before any JSON parsing. Drop repeated
// deliveries by the Idempotency-Key header (also the event's "id").
func VerifyWebhook(header string, body []byte, now time.Time, tolerance time.Duration, secrets ...[]byte) error {
	if tolerance <= 0 {
		tolerance = DefaultWebhookTolerance
	}
	var (
		ts   string
		sigs [][]byte
	)
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return ErrWebhookMalformed
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			sig, err := hex.DecodeString(v)
			if err != nil || len(sig) != sha256.Size {
				return ErrWebhookMalformed
			}
			sigs = append(sigs, sig)
		}
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrWebhookMalformed
	}
	if d := now.Sub(time.Unix(unix, 0)); d > tolerance || d < -tolerance {
		return ErrWebhookStale
	}
	for _, secret := range secrets {
		want := webhookMAC(secret, ts, body)
		for _, sig := range sigs {
			if hmac.Equal(sig, want) {
				return nil
			}
		}
	}
	return ErrWebhookSignature
}

// statusError turns an HTTP answer into the dispatcher's terms: 2xx is
// success; 408, 425, 429 and 5xx are transient (honouring Retry-After);
// any other status is permanent.
func statusError(what string, resp *http.Response, now time.Time) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	err := fmt.Errorf("%s: HTTP %d", what, resp.StatusCode)
	switch {
	case resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode == http.StatusTooEarly,
		resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode >= 500:
		return RetryAfter(err, parseRetryAfter(resp.Header.Get("Retry-After"), now))
	}
	return Permanent(err)
}

// parseRetryAfter reads delay-seconds or an HTTP date, capped at a day.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return max(0, min(d, 24*time.Hour))
}

// redactURLError drops the URL from a transport error: it may carry a
// token in its query.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}
