package camera_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/parcelguard/parcelguard/camera"
	"github.com/parcelguard/parcelguard/notify"
)

func TestParseConfig(t *testing.T) {
	cases := []struct {
		spec   string
		secret notify.Secret
		ok     bool
	}{
		{"frigate+http://127.0.0.1:5000", "", true},
		{"frigate+https://nvr.example.com/base", "token", true},
		{"webhook+https://vms.example.com/bookmarks?site=7", "s", true},
		{"  webhook+http://[::1]:8080/b  ", "s", true},
		{"webhook+https://vms.example.com/bookmarks", "", false}, // unsigned webhook
		{"frigate", "", false},
		{"http://nvr:5000", "", false},
		{"onvif+http://nvr:5000", "", false},
		{"Frigate+http://nvr:5000", "", false},
		{"frigate+ftp://nvr", "", false},
		{"frigate+http://", "", false},
		{"frigate+/api", "", false},
		{"frigate+http:nvr", "", false},
		{"frigate+http://admin:pw@nvr:5000", "", false},
		{"frigate+http://nvr:5000/#x", "", false},
		{"frigate+http://nvr :5000", "", false},
		{"frigate+http://nvr:5000/a b", "", false},
		{"frigate+http://%zz", "", false},
	}
	for _, c := range cases {
		cfg, err := camera.ParseConfig(c.spec, c.secret)
		if (err == nil) != c.ok {
			t.Errorf("%q: err = %v, want ok=%v", c.spec, err, c.ok)
			continue
		}
		if err != nil {
			if !errors.Is(err, camera.ErrConfig) {
				t.Errorf("%q: err = %v, want ErrConfig", c.spec, err)
			}
			if strings.Contains(err.Error(), "pw") {
				t.Errorf("%q: error repeats a password: %v", c.spec, err)
			}
			continue
		}
		if cfg.Timeout != camera.DefaultTimeout || cfg.Attempts != camera.DefaultAttempts || cfg.Backoff != camera.DefaultBackoff {
			t.Errorf("%q: defaults not filled: %+v", c.spec, cfg)
		}
	}
}

func TestConfigStringHidesSecrets(t *testing.T) {
	cfg, err := camera.ParseConfig("webhook+https://vms.example.com/b?token=abc", "topsecret")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{cfg.String(), fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", cfg)} {
		if strings.Contains(s, "topsecret") || strings.Contains(s, "abc") {
			t.Errorf("%q leaks a secret", s)
		}
	}
}

func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{"frigate+http://127.0.0.1:5000", "webhook+https://h/p?q=1", "x+y", "+", "frigate+http://u:p@h", "webhook+http://[::1]:80/%41"} {
		f.Add(s, "secret")
	}
	f.Fuzz(func(t *testing.T, spec, secret string) {
		cfg, err := camera.ParseConfig(spec, notify.Secret(secret))
		if err != nil {
			if !errors.Is(err, camera.ErrConfig) {
				t.Fatalf("error %v is not ErrConfig", err)
			}
			return
		}
		if cfg.Kind != camera.KindFrigate && cfg.Kind != camera.KindWebhook {
			t.Fatalf("kind %q accepted", cfg.Kind)
		}
		if s := cfg.URL.Scheme; (s != "http" && s != "https") || cfg.URL.Host == "" || cfg.URL.User != nil {
			t.Fatalf("URL %v accepted", cfg.URL)
		}
		if cfg.Kind == camera.KindWebhook && secret == "" {
			t.Fatal("unsigned webhook accepted")
		}
		if cfg.Attempts < 1 || cfg.Attempts > camera.MaxAttempts || cfg.Timeout <= 0 {
			t.Fatalf("bounds not applied: %+v", cfg)
		}
		if _, err := camera.New(cfg, nil, nil); err != nil {
			t.Fatalf("parsed config does not build a hook: %v", err)
		}
	})
}
