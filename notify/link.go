package notify

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/parcelguard/parcelguard"
)

// LinkSource hands the renderer the address of the recipient's tracking
// page for a parcel, with a fresh magic link in it. A CodeSource that
// implements it (see Linked) gets the link into every message to the
// recipient; delegates' messages never carry it.
type LinkSource interface {
	TrackingURL(ctx context.Context, x *parcelguard.Parcel) (string, error)
}

// Codes is everything the renderer asks of the service
// (*service.Service implements it).
type Codes interface {
	CodeSource
	TxCodeSource
	GrantCodeSource
	DoorstepCodeSource
	// RecipientLinkOf mints a magic-link token for the recipient of a
	// parcel the renderer has read.
	RecipientLinkOf(x *parcelguard.Parcel) (string, error)
}

// Linked is a code source that also links messages to the tracking page
// at PublicURL (the address people reach the pages at, such as
// "https://parcels.example.com"). The token goes into the URL's fragment
// ("/track#<token>"), which browsers never send to a server, so it stays
// out of every access log and Referer header.
type Linked struct {
	Codes
	PublicURL string
}

// TrackingURL mints a link token for the parcel and returns its page.
func (l Linked) TrackingURL(_ context.Context, x *parcelguard.Parcel) (string, error) {
	base, err := PageBase(l.PublicURL)
	if err != nil {
		return "", err
	}
	tok, err := l.RecipientLinkOf(x)
	if err != nil {
		return "", err
	}
	return base + "/track#" + tok, nil
}

// PageBase checks a public base URL (http or https, a host, no query or
// fragment) and returns it without a trailing slash.
func PageBase(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("public URL %q: must be an http(s) address such as https://parcels.example.com", raw)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// linksRecipient reports whether a message of kind goes to the recipient
// (who may have the link), not to a delegate or a carrier.
func linksRecipient(kind parcelguard.MessageKind) bool {
	switch kind {
	case parcelguard.MessageDelegateCode, parcelguard.MessageDoorstepDelegate, parcelguard.MessageWebhook:
		return false
	}
	return true
}

// trackingURL returns the tracking page of the parcel for a message of
// kind, or "" when the source has no links or the message is not the
// recipient's.
func (r *renderer) trackingURL(ctx context.Context, kind parcelguard.MessageKind, x *parcelguard.Parcel) (string, error) {
	ls, ok := r.codes.(LinkSource)
	if !ok || !linksRecipient(kind) {
		return "", nil
	}
	u, err := ls.TrackingURL(ctx, x)
	if errors.Is(err, parcelguard.ErrNotFound) {
		return "", Permanent(err)
	}
	return u, err
}
