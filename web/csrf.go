package web

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/parcelguard/parcelguard/code"
)

// CSRF protection has two layers. http.CrossOriginProtection (in secure)
// refuses a state-changing request a browser marks as cross-origin. Every
// form also carries a token: an HMAC, under the server keyring, of a random
// per-browser cookie (pg_csrf, HttpOnly, SameSite=Strict) and of the
// session cookie, so a token stops working when its browser signs in or
// out (OWASP's signed double-submit cookie). Nothing is stored.

const (
	csrfCookie = "pg_csrf"
	csrfField  = "csrf"
	csrfScope  = "web-csrf"
)

// csrfToken returns the token for the forms of this response, issuing the
// browser's CSRF cookie first if it has none.
func (h *Handler) csrfToken(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(csrfCookie)
	value := ""
	if err == nil && validCookieValue(c.Value) {
		value = c.Value
	} else {
		value = randomToken()
		http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: value, Path: "/", HttpOnly: true, Secure: true,
			SameSite: http.SameSiteStrictMode})
	}
	return h.csrfFor(h.keys.CurrentID(), value, sessionBinding(r))
}

// csrfFor computes the token under one key id.
func (h *Handler) csrfFor(keyID, cookie, binding string) string {
	mac, err := h.keys.Hash(keyID, csrfScope, cookie+"|"+binding)
	if err != nil {
		return ""
	}
	return keyID + "." + base64.RawURLEncoding.EncodeToString(mac)
}

// checkCSRF reports whether the form's token matches this browser's cookie
// and session. It parses the form (bounded by maxForm).
func (h *Handler) checkCSRF(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		return false
	}
	c, err := r.Cookie(csrfCookie)
	if err != nil || !validCookieValue(c.Value) {
		return false
	}
	got := r.PostForm.Get(csrfField)
	keyID, _, ok := strings.Cut(got, ".")
	if !ok || keyID == "" {
		return false
	}
	want := h.csrfFor(keyID, c.Value, sessionBinding(r))
	return want != "" && code.Equal([]byte(want), []byte(got))
}

// maxForm caps a form body; the largest form (a parcel search) is tiny.
const maxForm = 16 << 10

// sessionBinding names the browser's account session without revealing
// its token: the SHA-256 of the session cookie, or "" when signed out.
func sessionBinding(r *http.Request) string {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(c.Value))
	return hex.EncodeToString(sum[:])
}

// rotateCSRF gives the browser a fresh CSRF cookie (at sign-in and
// sign-out), so no token from before stays valid.
func rotateCSRF(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: randomToken(), Path: "/", HttpOnly: true, Secure: true,
		SameSite: http.SameSiteStrictMode})
}

// randomToken returns 256 random bits, URL-safe.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// validCookieValue accepts what randomToken makes and nothing odd.
func validCookieValue(s string) bool {
	if len(s) < 16 || len(s) > 128 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
