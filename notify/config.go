package notify

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"net/url"
	"os"
	"strings"
	"time"
)

// Secret is a password, token or signing secret from the environment or a
// file. It prints, marshals and logs as "[redacted]" so that a config that
// reaches a log line or an error message leaks nothing; Reveal returns it.
type Secret string

const redacted = "[redacted]"

// Reveal returns the secret itself, for the one place that uses it.
func (s Secret) Reveal() string { return string(s) }

// String hides the secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString hides the secret from %#v.
func (s Secret) GoString() string { return `"` + s.String() + `"` }

// LogValue hides the secret from log/slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText hides the secret from encoders (JSON, YAML, TOML).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Config says where notifications go. A channel whose config is nil
// delivers into the local mailbox, so the zero Config sends everything
// there (the demo default).
type Config struct {
	// Email sends e-mail through an SMTP server.
	Email *SMTPConfig
	// SMS sends text messages through an HTTP gateway.
	SMS *SMSConfig
	// Webhooks maps carrier ids to their webhook endpoint. Carriers without
	// one get their events in the mailbox.
	Webhooks map[string]WebhookConfig
	// Dispatch tunes retries and concurrency; zero fields take defaults.
	Dispatch DispatchConfig
}

// SMTPConfig configures the e-mail channel.
type SMTPConfig struct {
	Host string
	// Port defaults to 587 for STARTTLS, 465 for TLS, 25 for none.
	Port int
	// Security is "starttls" (default: required), "tls" (implicit TLS,
	// SMTPS), "opportunistic" (STARTTLS if offered) or "none".
	Security string
	// Username and Password enable SMTP AUTH (PLAIN, or LOGIN/CRAM-MD5
	// when Auth says so); an empty Username means no authentication.
	Username string
	Password Secret
	// Auth is "plain" (default), "login", "cram-md5" or "auto".
	Auth string
	// From is the sender, such as "parcelguard <noreply@example.com>".
	From string
	// HelloName is the name given in EHLO; empty means the host name.
	HelloName string
	// Timeout bounds one connection; default 30 s.
	Timeout time.Duration
	// TLS overrides the TLS client configuration (custom roots in tests);
	// the server name defaults to Host.
	TLS *tls.Config `json:"-"`
}

// SMS gateway providers.
const (
	SMSProviderJSON   = "json"
	SMSProviderTwilio = "twilio"
)

// SMSConfig configures the SMS channel.
type SMSConfig struct {
	// Provider is "json" (a generic gateway taking a JSON POST) or
	// "twilio" (Twilio's Messages API or a compatible one).
	Provider string
	// URL is the endpoint: for json the POST target; for twilio the API
	// base, default https://api.twilio.com.
	URL string
	// Token is the bearer token of the json provider (optional).
	Token Secret
	// AccountSID and AuthToken are the twilio provider's basic-auth
	// credentials.
	AccountSID string
	AuthToken  Secret
	// From is the sender number or alphanumeric sender id; for twilio a
	// MessagingServiceSID may stand in for it.
	From                string
	MessagingServiceSID string
	// Timeout bounds one request; default 15 s.
	Timeout time.Duration
}

// WebhookConfig is one carrier's webhook endpoint.
type WebhookConfig struct {
	URL string
	// Secrets sign each delivery, one v1 signature per secret. To rotate,
	// add the new secret beside the old one, let the carrier switch its
	// verifier, then drop the old one.
	Secrets []Secret
	// Timeout bounds one request; default 10 s.
	Timeout time.Duration
}

// DispatchConfig tunes the dispatcher.
type DispatchConfig struct {
	// Batch is how many messages one claim takes; default 128.
	Batch int
	// Workers render and send concurrently; default 32 (sending mostly
	// waits on the network).
	Workers int
	// Lease is how long a claimed message is hidden from other
	// dispatchers; it must exceed the longest send. Default 2 min.
	Lease time.Duration
	// RetryBase is the first retry delay, doubling up to RetryMax
	// (defaults 30 s and 1 h), with jitter.
	RetryBase, RetryMax time.Duration
	// MaxAge is how long after its creation a message is retried before
	// it is marked dead and the operator alarmed; default 24 h.
	MaxAge time.Duration
}

func (c DispatchConfig) withDefaults() DispatchConfig {
	if c.Batch <= 0 {
		c.Batch = 128
	}
	if c.Workers <= 0 {
		c.Workers = 32
	}
	if c.Lease <= 0 {
		c.Lease = 2 * time.Minute
	}
	if c.RetryBase <= 0 {
		c.RetryBase = 30 * time.Second
	}
	if c.RetryMax <= 0 {
		c.RetryMax = time.Hour
	}
	if c.MaxAge <= 0 {
		c.MaxAge = 24 * time.Hour
	}
	return c
}

// Validate reports every problem of the configuration at once.
func (c Config) Validate() error {
	var errs []error
	if e := c.Email; e != nil {
		if e.Host == "" {
			errs = append(errs, errors.New("email: host is required"))
		}
		if _, err := mail.ParseAddress(e.From); err != nil {
			errs = append(errs, fmt.Errorf("email: from %q: %w", e.From, err))
		}
		switch e.Security {
		case "", "starttls", "tls", "opportunistic", "none":
		default:
			errs = append(errs, fmt.Errorf("email: security %q must be starttls, tls, opportunistic or none", e.Security))
		}
		switch strings.ToLower(e.Auth) {
		case "", "plain", "login", "cram-md5", "auto":
		default:
			errs = append(errs, fmt.Errorf("email: auth %q must be plain, login, cram-md5 or auto", e.Auth))
		}
		if e.Port < 0 || e.Port > 65535 {
			errs = append(errs, fmt.Errorf("email: port %d out of range", e.Port))
		}
	}
	if s := c.SMS; s != nil {
		switch s.Provider {
		case SMSProviderJSON:
			if err := checkURL(s.URL); err != nil {
				errs = append(errs, fmt.Errorf("sms: url: %w", err))
			}
		case SMSProviderTwilio:
			if s.URL != "" {
				if err := checkURL(s.URL); err != nil {
					errs = append(errs, fmt.Errorf("sms: url: %w", err))
				}
			}
			if s.AccountSID == "" || s.AuthToken == "" {
				errs = append(errs, errors.New("sms: twilio needs an account sid and an auth token"))
			}
			if s.From == "" && s.MessagingServiceSID == "" {
				errs = append(errs, errors.New("sms: twilio needs a from number or a messaging service sid"))
			}
		default:
			errs = append(errs, fmt.Errorf("sms: provider %q must be %s or %s", s.Provider, SMSProviderJSON, SMSProviderTwilio))
		}
	}
	for carrier, w := range c.Webhooks {
		if err := checkURL(w.URL); err != nil {
			errs = append(errs, fmt.Errorf("webhook of carrier %s: url: %w", carrier, err))
		}
		if len(w.Secrets) == 0 {
			errs = append(errs, fmt.Errorf("webhook of carrier %s: at least one secret is required", carrier))
		}
		for _, s := range w.Secrets {
			if len(s) < 16 {
				errs = append(errs, fmt.Errorf("webhook of carrier %s: secrets must be at least 16 bytes", carrier))
				break
			}
		}
	}
	return errors.Join(errs...)
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
		return fmt.Errorf("%q must be an http(s) URL", s)
	}
	if u.User != nil {
		return errors.New("credentials do not belong in the URL")
	}
	return nil
}

// String describes the configuration with every secret redacted.
func (c Config) String() string {
	b, _ := json.Marshal(c) // Secret marshals redacted; tls.Config is skipped
	return string(b)
}

// LogValue logs the configuration redacted.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// String describes the SMTP configuration without its password.
func (c SMTPConfig) String() string {
	return fmt.Sprintf("smtp(host=%s port=%d security=%s user=%s password=%s from=%s)",
		c.Host, c.Port, c.Security, c.Username, c.Password, c.From)
}

// String describes the SMS configuration without its credentials.
func (c SMSConfig) String() string {
	return fmt.Sprintf("sms(provider=%s url=%s account=%s token=%s auth_token=%s from=%s)",
		c.Provider, c.URL, c.AccountSID, c.Token, c.AuthToken, c.From)
}

// String describes the webhook endpoint without its secrets.
func (c WebhookConfig) String() string {
	return fmt.Sprintf("webhook(url=%s secrets=%d)", c.URL, len(c.Secrets))
}

// ReadSecretFile reads a secret from a file (a mounted secret, say),
// without its trailing newline. It refuses a file other users may read.
func ReadSecretFile(path string) (Secret, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("secret file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("secret file %s: mode %v lets others read it; use 0600", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("secret file: %w", err)
	}
	s := strings.TrimRight(string(b), "\r\n")
	if s == "" {
		return "", fmt.Errorf("secret file %s is empty", path)
	}
	return Secret(s), nil
}
