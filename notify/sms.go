package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/parcelguard/parcelguard"
)

// SMSSender sends text messages through an HTTP gateway, in the generic
// JSON form or the Twilio form.
type SMSSender struct {
	cfg    SMSConfig
	client *http.Client
	clock  parcelguard.Clock
}

// NewSMSSender returns an SMS sender; a nil client means a default one.
func NewSMSSender(cfg SMSConfig, client *http.Client) *SMSSender {
	if client == nil {
		client = &http.Client{}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 15 * time.Second
	}
	return &SMSSender{cfg: cfg, client: client, clock: parcelguard.SystemClock{}}
}

// jsonSMS is the generic gateway's request body.
type jsonSMS struct {
	To             string `json:"to"`
	From           string `json:"from,omitempty"`
	Text           string `json:"text"`
	IdempotencyKey string `json:"idempotency_key"`
}

// Send posts r.Text to r.To.
func (s *SMSSender) Send(ctx context.Context, r *Rendered) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	var (
		req *http.Request
		err error
	)
	switch s.cfg.Provider {
	case SMSProviderTwilio:
		req, err = s.twilioRequest(ctx, r)
	default:
		req, err = s.jsonRequest(ctx, r)
	}
	if err != nil {
		return Permanent(fmt.Errorf("sms: %w", err))
	}
	req.Header.Set("User-Agent", "parcelguard-sms/1")
	req.Header.Set(IdempotencyKeyHeader, r.IdempotencyKey)
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("sms: %w", redactURLError(err))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return statusError("sms gateway", resp, s.clock.Now())
}

// jsonRequest is POST <url> with {"to","from","text","idempotency_key"}
// and an optional bearer token.
func (s *SMSSender) jsonRequest(ctx context.Context, r *Rendered) (*http.Request, error) {
	body, err := json.Marshal(jsonSMS{To: r.To, From: s.cfg.From, Text: r.Text, IdempotencyKey: r.IdempotencyKey})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if s.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+s.cfg.Token.Reveal())
	}
	return req, nil
}

// twilioRequest is Twilio's "create a Message": a form POST to
// /2010-04-01/Accounts/{AccountSid}/Messages.json with basic auth, plus
// Twilio's idempotency header.
func (s *SMSSender) twilioRequest(ctx context.Context, r *Rendered) (*http.Request, error) {
	base := s.cfg.URL
	if base == "" {
		base = "https://api.twilio.com"
	}
	form := url.Values{"To": {r.To}, "Body": {r.Text}}
	if s.cfg.MessagingServiceSID != "" {
		form.Set("MessagingServiceSid", s.cfg.MessagingServiceSID)
	} else {
		form.Set("From", s.cfg.From)
	}
	endpoint := strings.TrimSuffix(base, "/") + "/2010-04-01/Accounts/" + url.PathEscape(s.cfg.AccountSID) + "/Messages.json"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("I-Twilio-Idempotency-Token", r.IdempotencyKey)
	req.SetBasicAuth(s.cfg.AccountSID, s.cfg.AuthToken.Reveal())
	return req, nil
}
