package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// SMTPSender sends e-mail through an SMTP server: STARTTLS (required or
// opportunistic), implicit TLS or plain, with optional SMTP AUTH. Each
// message is multipart/alternative (plain text and HTML) with the QR code
// as an inline (cid) image, and a Message-ID derived from the idempotency
// key, so a duplicate sent after a crash has the same Message-ID.
type SMTPSender struct {
	cfg  SMTPConfig
	from *mail.Address
}

// NewSMTPSender returns a sender for cfg (validated by Config.Validate).
func NewSMTPSender(cfg SMTPConfig) *SMTPSender {
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		from = &mail.Address{Address: cfg.From}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	return &SMTPSender{cfg: cfg, from: from}
}

// IdempotencyHeader carries the idempotency key in e-mail, beside the
// Message-ID made from it.
const IdempotencyHeader = "X-Parcelguard-Idempotency-Key"

// MessageID returns the Message-ID (without angle brackets) of the e-mail
// with idempotency key key, sent from domain.
func MessageID(key, domain string) string {
	var b strings.Builder
	for _, r := range key {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('.')
		}
	}
	return b.String() + "@" + domain
}

// Send delivers r to r.To.
func (s *SMTPSender) Send(ctx context.Context, r *Rendered) error {
	m, err := s.message(r)
	if err != nil {
		return Permanent(fmt.Errorf("smtp: build message: %w", err))
	}
	c, err := s.client()
	if err != nil {
		return Permanent(fmt.Errorf("smtp: %w", err))
	}
	if err := c.DialAndSendWithContext(ctx, m); err != nil {
		var se *gomail.SendError
		if errors.As(err, &se) && se.ErrorCode() >= 500 && se.ErrorCode() < 600 {
			switch se.Reason {
			case gomail.ErrSMTPMailFrom, gomail.ErrSMTPRcptTo, gomail.ErrSMTPData, gomail.ErrSMTPDataClose:
				return Permanent(fmt.Errorf("smtp: %w", err))
			}
		}
		return fmt.Errorf("smtp: %w", err)
	}
	return nil
}

func (s *SMTPSender) message(r *Rendered) (*gomail.Msg, error) {
	m := gomail.NewMsg(gomail.WithCharset(gomail.CharsetUTF8), gomail.WithEncoding(gomail.EncodingQP))
	m.FromMailAddress(s.from)
	if err := m.To(r.To); err != nil {
		return nil, err
	}
	m.Subject(r.Subject)
	_, domain, _ := strings.Cut(s.from.Address, "@")
	if domain == "" {
		domain = "parcelguard.invalid"
	}
	m.SetMessageIDWithValue(MessageID(r.IdempotencyKey, domain))
	m.SetGenHeader(gomail.Header(IdempotencyHeader), r.IdempotencyKey)
	m.SetDate()
	if r.Language != "" {
		m.SetGenHeader(gomail.HeaderContentLang, r.Language)
	}
	// Automatic messages must not trigger auto-replies.
	m.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated")
	m.SetBodyString(gomail.TypeTextPlain, r.Text)
	if r.HTML != "" {
		m.AddAlternativeString(gomail.TypeTextHTML, r.HTML)
	}
	for _, in := range r.Inline {
		if err := m.EmbedReader(in.Name, bytes.NewReader(in.Data), gomail.WithFileContentID(in.ContentID),
			gomail.WithFileContentType(gomail.ContentType(in.ContentType))); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (s *SMTPSender) client() (*gomail.Client, error) {
	cfg := s.cfg
	opts := []gomail.Option{gomail.WithTimeout(cfg.Timeout)}
	tc := &tls.Config{ServerName: cfg.Host, MinVersion: tls.VersionTLS12}
	if cfg.TLS != nil {
		tc = cfg.TLS.Clone()
		if tc.ServerName == "" {
			tc.ServerName = cfg.Host
		}
	}
	port := cfg.Port
	switch cfg.Security {
	case "tls":
		opts = append(opts, gomail.WithSSL(), gomail.WithTLSConfig(tc))
		if port == 0 {
			port = 465
		}
	case "none":
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
		if port == 0 {
			port = 25
		}
	case "opportunistic":
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic), gomail.WithTLSConfig(tc))
		if port == 0 {
			port = 587
		}
	default: // "starttls"
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory), gomail.WithTLSConfig(tc))
		if port == 0 {
			port = 587
		}
	}
	opts = append(opts, gomail.WithPort(port))
	if cfg.HelloName != "" {
		opts = append(opts, gomail.WithHELO(cfg.HelloName))
	}
	if cfg.Username != "" {
		auth := gomail.SMTPAuthPlain
		switch strings.ToLower(cfg.Auth) {
		case "login":
			auth = gomail.SMTPAuthLogin
		case "cram-md5":
			auth = gomail.SMTPAuthCramMD5
		case "auto":
			auth = gomail.SMTPAuthAutoDiscover
		}
		opts = append(opts, gomail.WithSMTPAuth(auth), gomail.WithUsername(cfg.Username),
			gomail.WithPassword(cfg.Password.Reveal()))
	}
	return gomail.NewClient(cfg.Host, opts...)
}
