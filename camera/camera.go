package camera

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/notify"
)

// Bookmarker creates a bookmark in a video system and returns its id.
type Bookmarker interface {
	// Bookmark marks the footage of cameraID at time at with label (the
	// event kind, such as "door.opened") and the audit event's id. It
	// returns the video system's bookmark id, an *UnreachableError when the
	// camera could not be reached, or an error matching ErrRejected or
	// ErrInvalid.
	Bookmark(ctx context.Context, cameraID, label string, at time.Time, eventID string) (string, error)
}

// New returns the Bookmarker of cfg's kind. clock signs webhook requests;
// a nil client means a fresh http.Client (each attempt is bounded by
// cfg.Timeout in any case).
func New(cfg Config, clock parcelguard.Clock, client *http.Client) (Bookmarker, error) {
	if cfg.URL == nil {
		return nil, fmt.Errorf("%w: no URL", ErrConfig)
	}
	if client == nil {
		client = &http.Client{}
	}
	if clock == nil {
		clock = parcelguard.SystemClock{}
	}
	h := &hook{cfg: cfg.withDefaults(), clock: clock, client: client}
	switch cfg.Kind {
	case KindWebhook:
		if cfg.Secret == "" {
			return nil, fmt.Errorf("%w: a webhook needs a signing secret", ErrConfig)
		}
		return &Webhook{h}, nil
	case KindFrigate:
		return &Frigate{h}, nil
	}
	return nil, fmt.Errorf("%w: kind %q", ErrConfig, cfg.Kind)
}

// hook is what both kinds share: the config, the HTTP client and the retry
// loop.
type hook struct {
	cfg    Config
	clock  parcelguard.Clock
	client *http.Client
}

// maxIDLen bounds a returned bookmark id; it is stored on the event.
const maxIDLen = 200

// maxBody bounds how much of an answer is read.
const maxBody = 64 << 10

// checkName validates a camera id or label: 1 to 100 printable characters,
// not "." or ".." (they would change the path of a Frigate URL).
func checkName(field, v string) error {
	if v == "" || len(v) > 100 || v == "." || v == ".." {
		return fmt.Errorf("%w: %s must be 1 to 100 characters", ErrInvalid, field)
	}
	for _, r := range v {
		if !unicode.IsPrint(r) || r == '/' || r == '\\' {
			return fmt.Errorf("%w: %s must be printable, without slashes", ErrInvalid, field)
		}
	}
	return nil
}

// attemptError is one attempt's failure; retry says whether another
// attempt may succeed.
type attemptError struct {
	err        error
	retry      bool
	retryAfter time.Duration
}

func (e *attemptError) Error() string { return e.err.Error() }
func (e *attemptError) Unwrap() error { return e.err }

// do runs attempt up to cfg.Attempts times with doubling pauses, each
// bounded by cfg.Timeout. Transport failures, timeouts and retryable
// statuses that persist become an *UnreachableError.
func (h *hook) do(ctx context.Context, cameraID string, attempt func(ctx context.Context) (string, error)) (string, error) {
	pause := h.cfg.Backoff
	var last error
	for i := 1; i <= h.cfg.Attempts; i++ {
		actx, cancel := context.WithTimeout(ctx, h.cfg.Timeout)
		id, err := attempt(actx)
		cancel()
		if err == nil {
			return id, nil
		}
		last = err
		var ae *attemptError
		if errors.As(err, &ae) && !ae.retry {
			return "", err
		}
		if ctx.Err() != nil || i == h.cfg.Attempts {
			break
		}
		wait := pause
		if ae != nil && ae.retryAfter > wait {
			wait = min(ae.retryAfter, 4*h.cfg.Timeout) // a camera may ask for a pause, but not hold up the event
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			i = h.cfg.Attempts // report what we have
		case <-t.C:
		}
		pause *= 2
	}
	return "", &UnreachableError{Camera: cameraID, Attempts: h.cfg.Attempts, Err: last}
}

// post sends body to u and decodes a 2xx JSON answer into out.
func (h *hook) post(ctx context.Context, u string, body []byte, header http.Header, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return &attemptError{err: fmt.Errorf("%w: %v", ErrRejected, redactURLError(err))}
	}
	req.Header = header
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "parcelguard-camera/1")
	if h.cfg.Secret != "" && h.cfg.Kind == KindFrigate {
		req.Header.Set("Authorization", "Bearer "+h.cfg.Secret.Reveal())
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return &attemptError{err: redactURLError(err), retry: true}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return &attemptError{err: fmt.Errorf("read answer: %w", err), retry: true}
	}
	switch s := resp.StatusCode; {
	case s == http.StatusRequestTimeout || s == http.StatusTooManyRequests || s >= 500:
		return &attemptError{err: fmt.Errorf("HTTP %d", s), retry: true, retryAfter: retryAfter(resp.Header.Get("Retry-After"))}
	case s < 200 || s > 299:
		return &attemptError{err: fmt.Errorf("%w: HTTP %d", ErrRejected, s)}
	}
	if len(raw) > maxBody {
		return &attemptError{err: fmt.Errorf("%w: answer larger than %d bytes", ErrRejected, maxBody)}
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return &attemptError{err: fmt.Errorf("%w: answer is not the expected JSON: %v", ErrRejected, err)}
	}
	return nil
}

// checkID validates a bookmark id from an answer.
func checkID(id string) (string, error) {
	if id == "" || len(id) > maxIDLen || strings.ContainsFunc(id, func(r rune) bool { return !unicode.IsPrint(r) }) {
		return "", &attemptError{err: fmt.Errorf("%w: answer has no usable bookmark id", ErrRejected)}
	}
	return id, nil
}

// retryAfter reads delay-seconds (HTTP dates are not worth honouring for a
// bookmark).
func retryAfter(v string) time.Duration {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n <= 0 {
		return 0
	}
	return time.Duration(min(n, 3600)) * time.Second
}

// redactURLError drops the URL from a transport error: its query may hold
// a token.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// Webhook is the generic signed video hook. It POSTs
//
//	{"camera": "...", "label": "...", "at": "RFC 3339 time", "event_id": "..."}
//
// with the Parcelguard-Signature header of carrier webhooks
// ("t=<unix>,v1=<hex HMAC-SHA256(secret, t + "." + body)>", checked with
// notify.VerifyWebhook) and the event id as Idempotency-Key, so a retried
// request can be recognised; it expects a 2xx JSON answer {"id": "..."}.
type Webhook struct{ *hook }

// webhookRequest is the body a Webhook posts.
type webhookRequest struct {
	Camera  string `json:"camera"`
	Label   string `json:"label"`
	At      string `json:"at"`
	EventID string `json:"event_id"`
}

// Bookmark implements Bookmarker.
func (w *Webhook) Bookmark(ctx context.Context, cameraID, label string, at time.Time, eventID string) (string, error) {
	if err := errors.Join(checkName("camera", cameraID), checkName("label", label), checkName("event_id", eventID)); err != nil {
		return "", err
	}
	body, err := json.Marshal(webhookRequest{Camera: cameraID, Label: label, At: at.UTC().Format(time.RFC3339Nano), EventID: eventID})
	if err != nil {
		return "", err
	}
	return w.do(ctx, cameraID, func(ctx context.Context) (string, error) {
		h := http.Header{}
		h.Set(notify.SignatureHeader, notify.SignWebhook(body, w.clock.Now(), w.cfg.Secret)) // fresh timestamp per attempt
		h.Set(notify.IdempotencyKeyHeader, eventID)
		var out struct {
			ID string `json:"id"`
		}
		if err := w.post(ctx, w.cfg.URL.String(), body, h, &out); err != nil {
			return "", err
		}
		return checkID(out.ID)
	})
}

// Frigate creates manual events in a Frigate NVR: POST
// {base}/api/events/{camera}/{label}/create with {"source_type": "api",
// "sub_label": event id, "duration": 30, "include_recording": true};
// Frigate answers {"success": true, "message": "...", "event_id": "..."}.
// Frigate stamps the event with its own clock (its pre-capture covers the
// seconds before), so at is not sent. A retry after a timeout may create a
// second Frigate event for the same door event; the sub-label ties both to
// it.
type Frigate struct{ *hook }

// FrigateDuration is the length in seconds of the clip a manual event keeps.
const FrigateDuration = 30

// frigateRequest is Frigate's EventsCreateBody.
type frigateRequest struct {
	SourceType       string `json:"source_type"`
	SubLabel         string `json:"sub_label"`
	Duration         int    `json:"duration"`
	IncludeRecording bool   `json:"include_recording"`
}

// Bookmark implements Bookmarker.
func (f *Frigate) Bookmark(ctx context.Context, cameraID, label string, at time.Time, eventID string) (string, error) {
	if err := errors.Join(checkName("camera", cameraID), checkName("label", label), checkName("event_id", eventID)); err != nil {
		return "", err
	}
	body, err := json.Marshal(frigateRequest{SourceType: "api", SubLabel: eventID, Duration: FrigateDuration, IncludeRecording: true})
	if err != nil {
		return "", err
	}
	u := f.cfg.URL.JoinPath("api", "events", cameraID, label, "create")
	return f.do(ctx, cameraID, func(ctx context.Context) (string, error) {
		var out struct {
			Success *bool  `json:"success"`
			Message string `json:"message"`
			EventID string `json:"event_id"`
		}
		if err := f.post(ctx, u.String(), body, http.Header{}, &out); err != nil {
			return "", err
		}
		if out.Success != nil && !*out.Success {
			return "", &attemptError{err: fmt.Errorf("%w: frigate says %q", ErrRejected, trim(out.Message))}
		}
		return checkID(out.EventID)
	})
}

// trim shortens a message from the video system for an error.
func trim(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}
