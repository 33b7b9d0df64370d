package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"time"

	"github.com/parcelguard/parcelguard/notify"
)

// notifyFlags configure the notification channels. Secrets come from
// files (or PARCELGUARD_*_SECRET environment variables), never from the
// command line where other users could read them. Any channel left
// unconfigured delivers to the local mailbox.
type notifyFlags struct {
	interval, lease time.Duration

	smtpHost, smtpSecurity, smtpUser, smtpAuth, smtpFrom, smtpPasswordFile string
	smtpPort                                                               int

	smsProvider, smsURL, smsFrom, smsAccountSID, smsTokenFile string

	webhooksFile string
}

func (f *notifyFlags) register(fs *flag.FlagSet) {
	fs.DurationVar(&f.interval, "notify-interval", time.Second, "how often the dispatcher looks for messages to send")
	fs.DurationVar(&f.lease, "notify-lease", 2*time.Minute, "how long a claimed message is hidden from other instances' dispatchers; "+
		"a message claimed by an instance that died is sent by another once its lease ends")
	fs.StringVar(&f.smtpHost, "smtp-host", "", "SMTP server for e-mail; empty keeps e-mail in the local mailbox")
	fs.IntVar(&f.smtpPort, "smtp-port", 0, "SMTP port (default 587 for starttls, 465 for tls)")
	fs.StringVar(&f.smtpSecurity, "smtp-security", "starttls", "starttls, tls, opportunistic or none")
	fs.StringVar(&f.smtpUser, "smtp-username", "", "SMTP AUTH user name (empty: no authentication)")
	fs.StringVar(&f.smtpAuth, "smtp-auth", "plain", "SMTP AUTH mechanism: plain, login, cram-md5 or auto")
	fs.StringVar(&f.smtpPasswordFile, "smtp-password-file", "", "file holding the SMTP password (mode 0600); or set PARCELGUARD_SMTP_PASSWORD_SECRET")
	fs.StringVar(&f.smtpFrom, "smtp-from", "parcelguard <noreply@localhost>", "sender address of e-mail")
	fs.StringVar(&f.smsProvider, "sms-provider", "", "SMS gateway form: json or twilio; empty keeps SMS in the local mailbox")
	fs.StringVar(&f.smsURL, "sms-url", "", "SMS gateway URL (json: the POST target; twilio: API base)")
	fs.StringVar(&f.smsFrom, "sms-from", "", "SMS sender number or id")
	fs.StringVar(&f.smsAccountSID, "sms-account-sid", "", "twilio account SID")
	fs.StringVar(&f.smsTokenFile, "sms-token-file", "", "file holding the SMS bearer token (json) or auth token (twilio); or set PARCELGUARD_SMS_TOKEN_SECRET")
	fs.StringVar(&f.webhooksFile, "webhooks-file", "", `JSON file (mode 0600) of carrier webhooks: {"CARRIER_ID": {"url": "https://…", "secrets": ["…"]}}`)
}

// config builds the notify configuration, reading the secrets.
func (f *notifyFlags) config(e *env) (notify.Config, error) {
	var cfg notify.Config
	if f.lease <= 0 {
		return cfg, fmt.Errorf("--notify-lease %v: must be positive", f.lease)
	}
	cfg.Dispatch.Lease = f.lease
	if f.smtpHost != "" {
		pw, err := secret(e, f.smtpPasswordFile, "PARCELGUARD_SMTP_PASSWORD_SECRET")
		if err != nil {
			return cfg, fmt.Errorf("--smtp-password-file: %w", err)
		}
		cfg.Email = &notify.SMTPConfig{Host: f.smtpHost, Port: f.smtpPort, Security: f.smtpSecurity, Username: f.smtpUser,
			Password: pw, Auth: f.smtpAuth, From: f.smtpFrom}
	}
	if f.smsProvider != "" {
		token, err := secret(e, f.smsTokenFile, "PARCELGUARD_SMS_TOKEN_SECRET")
		if err != nil {
			return cfg, fmt.Errorf("--sms-token-file: %w", err)
		}
		cfg.SMS = &notify.SMSConfig{Provider: f.smsProvider, URL: f.smsURL, From: f.smsFrom}
		if f.smsProvider == notify.SMSProviderTwilio {
			cfg.SMS.AccountSID, cfg.SMS.AuthToken = f.smsAccountSID, token
		} else {
			cfg.SMS.Token = token
		}
	}
	if f.webhooksFile != "" {
		raw, err := notify.ReadSecretFile(f.webhooksFile)
		if err != nil {
			return cfg, fmt.Errorf("--webhooks-file: %w", err)
		}
		var hooks map[string]struct {
			URL     string   `json:"url"`
			Secrets []string `json:"secrets"`
		}
		if err := json.Unmarshal([]byte(raw.Reveal()), &hooks); err != nil {
			return cfg, fmt.Errorf("--webhooks-file %s: want {\"CARRIER_ID\": {\"url\": ..., \"secrets\": [...]}}: %w", f.webhooksFile, err)
		}
		cfg.Webhooks = map[string]notify.WebhookConfig{}
		for carrier, h := range hooks {
			w := notify.WebhookConfig{URL: h.URL}
			for _, s := range h.Secrets {
				w.Secrets = append(w.Secrets, notify.Secret(s))
			}
			cfg.Webhooks[carrier] = w
		}
	}
	if f.interval <= 0 {
		return cfg, fmt.Errorf("--notify-interval %v: must be positive", f.interval)
	}
	return cfg, cfg.Validate()
}

// secret reads a secret from a file, or else from an environment variable.
func secret(e *env, file, envVar string) (notify.Secret, error) {
	if file != "" {
		return notify.ReadSecretFile(file)
	}
	return notify.Secret(e.getenv(envVar)), nil
}
