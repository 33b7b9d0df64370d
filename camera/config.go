package camera

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/parcelguard/parcelguard/notify"
)

// Kind names the protocol of a video hook.
type Kind string

// Kinds of video hook.
const (
	// KindWebhook posts a signed JSON bookmark request to a URL and reads the
	// bookmark id from the JSON answer.
	KindWebhook Kind = "webhook"
	// KindFrigate creates a manual event through Frigate's
	// POST /api/events/{camera}/{label}/create.
	KindFrigate Kind = "frigate"
)

// Defaults of a Config's zero fields. A bookmark is worth little if it
// holds up the door events behind it, so the budget is small: at most
// DefaultAttempts × DefaultTimeout plus the backoff pauses.
const (
	DefaultTimeout  = 3 * time.Second
	DefaultAttempts = 3
	DefaultBackoff  = 250 * time.Millisecond
	// MaxAttempts bounds Attempts so a misconfiguration cannot make a
	// bookmark retry for ever.
	MaxAttempts = 10
)

// Config says where a site's bookmarks go.
type Config struct {
	Kind Kind
	// URL is the webhook's target, or the Frigate server's base URL (such
	// as http://nvr.local:5000); http or https only.
	URL *url.URL
	// Secret signs webhook requests (required for KindWebhook); for Frigate
	// it is an optional bearer token for an authenticated port.
	Secret notify.Secret
	// Timeout bounds one attempt; Attempts bounds the tries; Backoff is the
	// pause before the second try, doubling after each further failure.
	Timeout  time.Duration
	Attempts int
	Backoff  time.Duration
}

// ErrConfig marks an invalid camera configuration.
var ErrConfig = errors.New("invalid camera configuration")

// ParseConfig reads a hook spec of the form KIND+URL, such as
// "frigate+http://127.0.0.1:5000" or
// "webhook+https://vms.example.com/bookmarks", with the secret given
// separately (from a file or the environment, never on the command line).
// It rejects unknown kinds, URLs that are not absolute http(s) URLs, URLs
// carrying a user name or password or a fragment, and a webhook without a
// secret. The defaults of Timeout, Attempts and Backoff are filled in.
func ParseConfig(spec string, secret notify.Secret) (Config, error) {
	kind, raw, ok := strings.Cut(strings.TrimSpace(spec), "+")
	if !ok {
		return Config{}, fmt.Errorf("%w: want KIND+URL such as frigate+http://127.0.0.1:5000", ErrConfig)
	}
	cfg := Config{Kind: Kind(kind), Secret: secret}
	switch cfg.Kind {
	case KindWebhook, KindFrigate:
	default:
		return Config{}, fmt.Errorf("%w: kind %q: want webhook or frigate", ErrConfig, kind)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return Config{}, fmt.Errorf("%w: URL does not parse", ErrConfig) // the URL may hold a token: not echoed
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return Config{}, fmt.Errorf("%w: URL scheme must be http or https", ErrConfig)
	case u.Host == "" || u.Opaque != "":
		return Config{}, fmt.Errorf("%w: URL must be absolute, such as http://host:port/path", ErrConfig)
	case u.User != nil:
		return Config{}, fmt.Errorf("%w: URL must not carry a user or password; give the secret separately", ErrConfig)
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return Config{}, fmt.Errorf("%w: URL must not have a fragment", ErrConfig)
	case strings.ContainsAny(raw, " \t\r\n"):
		return Config{}, fmt.Errorf("%w: URL must not contain white space", ErrConfig)
	}
	if cfg.Kind == KindWebhook && secret == "" {
		return Config{}, fmt.Errorf("%w: a webhook needs a signing secret", ErrConfig)
	}
	cfg.URL = u
	return cfg.withDefaults(), nil
}

// withDefaults fills zero fields and clamps Attempts.
func (c Config) withDefaults() Config {
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Attempts <= 0 {
		c.Attempts = DefaultAttempts
	}
	c.Attempts = min(c.Attempts, MaxAttempts)
	if c.Backoff <= 0 {
		c.Backoff = DefaultBackoff
	}
	return c
}

// String describes the hook without its secret or query (which may hold a
// token), for logs.
func (c Config) String() string {
	if c.URL == nil {
		return string(c.Kind) + "+"
	}
	u := *c.URL
	if u.RawQuery != "" {
		u.RawQuery = "redacted"
	}
	return string(c.Kind) + "+" + u.String()
}
