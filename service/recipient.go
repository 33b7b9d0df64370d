package service

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/code"
)

// Recipient links (SECURITY.md 13) are stateless signed tokens:
//
//	"pgr_" + base32(version | len keyID | keyID | link id (16 random bytes) |
//	                expiry (8 bytes, unix seconds) | len parcelID | parcelID |
//	                tag (16 bytes))
//
// where tag is the first 128 bits of HMAC-SHA256 under server key keyID
// (code.Keyring.Hash, scope "recipient-link") over everything before it. A
// link is bound to one parcel and expires; nothing about it is stored, so
// minting one for every message is free. It is a bearer credential: it
// travels in the Authorization header (the page link carries it in the URL
// fragment, which browsers never send), never in a path or query, and is
// never logged.
const (
	recipientScheme   = "pgr"
	recipientVersion  = 1
	recipientLinkID   = 16
	recipientTagSize  = 16
	recipientScope    = "recipient-link"
	maxRecipientField = 64
	// maxRecipientToken bounds the token text before any decoding.
	maxRecipientToken = 4 + (1+1+maxRecipientField+recipientLinkID+8+1+maxRecipientField+recipientTagSize)*8/5 + 1
)

// qrIssuer is the issuer of the QR tokens parcelguard signs.
const qrIssuer = "parcelguard"

// recipientToken is a parsed recipient link.
type recipientToken struct {
	keyID    string
	linkID   [recipientLinkID]byte
	expiry   time.Time
	parcelID string
	tag      []byte
}

// body encodes the signed part of t.
func (t *recipientToken) body() []byte {
	b := make([]byte, 0, 2+len(t.keyID)+recipientLinkID+8+1+len(t.parcelID)+recipientTagSize)
	b = append(b, recipientVersion, byte(len(t.keyID)))
	b = append(b, t.keyID...)
	b = append(b, t.linkID[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(t.expiry.Unix()))
	b = append(b, byte(len(t.parcelID)))
	return append(b, t.parcelID...)
}

// encode renders t with its tag.
func (t *recipientToken) encode() string {
	return recipientScheme + "_" + keyEncoding.EncodeToString(append(t.body(), t.tag...))
}

// errRecipientToken is the parser's one answer to any malformed token.
var errRecipientToken = errors.New("malformed recipient token")

// parseRecipientToken splits a token into its parts without checking its
// tag. It never panics and accepts exactly one encoding per token.
func parseRecipientToken(s string) (*recipientToken, error) {
	rest, ok := strings.CutPrefix(s, recipientScheme+"_")
	if !ok || len(s) > maxRecipientToken {
		return nil, errRecipientToken
	}
	raw, err := keyEncoding.DecodeString(rest)
	if err != nil || keyEncoding.EncodeToString(raw) != rest {
		return nil, errRecipientToken
	}
	take := func(n int) []byte {
		if n < 0 || n > len(raw) {
			raw = nil
			return nil
		}
		v := raw[:n]
		raw = raw[n:]
		return v
	}
	field := func() (string, bool) {
		n := take(1)
		if n == nil || n[0] == 0 || int(n[0]) > maxRecipientField {
			return "", false
		}
		v := take(int(n[0]))
		return string(v), v != nil
	}
	if v := take(1); v == nil || v[0] != recipientVersion {
		return nil, errRecipientToken
	}
	var t recipientToken
	if t.keyID, ok = field(); !ok {
		return nil, errRecipientToken
	}
	id := take(recipientLinkID)
	exp := take(8)
	if id == nil || exp == nil {
		return nil, errRecipientToken
	}
	copy(t.linkID[:], id)
	secs := binary.BigEndian.Uint64(exp)
	if secs > 253402300799 { // year 9999
		return nil, errRecipientToken
	}
	t.expiry = time.Unix(int64(secs), 0).UTC()
	if t.parcelID, ok = field(); !ok {
		return nil, errRecipientToken
	}
	if t.tag = take(recipientTagSize); t.tag == nil || len(raw) != 0 {
		return nil, errRecipientToken
	}
	return &t, nil
}

// recipientTag computes the tag of t under its key id.
func (s *Service) recipientTag(t *recipientToken) ([]byte, error) {
	mac, err := s.keys.Hash(t.keyID, recipientScope, string(t.body()))
	if err != nil {
		return nil, err
	}
	return mac[:recipientTagSize], nil
}

// RecipientLink mints a fresh magic-link token for the recipient of a
// parcel. It is valid until RecipientLinkGrace after the storage deadline,
// or for RecipientLinkUndeposited while the parcel has none yet. Callers
// (the message renderer) put it in the page link's URL fragment
// ("…/track#<token>") and must never log it.
func (s *Service) RecipientLink(ctx context.Context, parcelID string) (string, error) {
	var x *parcelguard.Parcel
	err := s.store.View(ctx, func(tx parcelguard.Tx) (err error) {
		x, err = tx.Parcel(ctx, parcelID)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("recipient link of %s: %w", parcelID, err)
	}
	return s.RecipientLinkOf(x)
}

// RecipientLinkOf is RecipientLink for a parcel the caller has just read
// (the outbox renders a message from it), saving a second read.
func (s *Service) RecipientLinkOf(x *parcelguard.Parcel) (string, error) {
	if len(x.ID) > maxRecipientField {
		return "", fmt.Errorf("recipient link of %s: parcel id too long", x.ID)
	}
	now := s.clock.Now()
	expiry := now.Add(parcelguard.RecipientLinkUndeposited)
	if !x.Deadline.IsZero() {
		expiry = x.Deadline.Add(parcelguard.RecipientLinkGrace)
	}
	t := &recipientToken{keyID: s.keys.CurrentID(), expiry: expiry.Truncate(time.Second), parcelID: x.ID}
	if _, err := rand.Read(t.linkID[:]); err != nil {
		return "", fmt.Errorf("recipient link of %s: %w", x.ID, err)
	}
	var err error
	if t.tag, err = s.recipientTag(t); err != nil {
		return "", fmt.Errorf("recipient link of %s: %w", x.ID, err)
	}
	return t.encode(), nil
}

// RecipientAccess is a verified recipient link: the right to see and act
// on one parcel. Only AuthenticateRecipient makes one; the zero value
// grants nothing.
type RecipientAccess struct {
	parcelID string
	expires  time.Time
}

// ParcelID is the parcel the link is for.
func (a *RecipientAccess) ParcelID() string { return a.parcelID }

// ExpiresAt is when the link stops working.
func (a *RecipientAccess) ExpiresAt() time.Time { return a.expires }

// principal is the audit actor of a recipient acting through a link.
func (a *RecipientAccess) principal() parcelguard.Principal {
	return parcelguard.Principal{Role: parcelguard.RoleRecipient, KeyPrefix: a.parcelID}
}

// AuthenticateRecipient verifies a recipient link. A malformed, forged,
// tampered, expired token, or one for a parcel that no longer exists, all
// get the same ErrUnauthorized; a store failure is reported as such.
func (s *Service) AuthenticateRecipient(ctx context.Context, token string) (*RecipientAccess, error) {
	t, err := parseRecipientToken(token)
	if err != nil {
		return nil, parcelguard.ErrUnauthorized
	}
	want, err := s.recipientTag(t)
	if err != nil || subtle.ConstantTimeCompare(want, t.tag) != 1 {
		return nil, parcelguard.ErrUnauthorized
	}
	if !s.clock.Now().Before(t.expiry) {
		return nil, parcelguard.ErrUnauthorized
	}
	err = s.store.View(ctx, func(tx parcelguard.Tx) error {
		_, err := tx.Parcel(ctx, t.parcelID)
		return err
	})
	if errors.Is(err, parcelguard.ErrNotFound) {
		return nil, parcelguard.ErrUnauthorized
	}
	if err != nil {
		return nil, fmt.Errorf("authenticate recipient: %w", err)
	}
	return &RecipientAccess{parcelID: t.parcelID, expires: t.expiry}, nil
}

// checkAccess refuses a nil or zero RecipientAccess.
func checkAccess(a *RecipientAccess) error {
	if a == nil || a.parcelID == "" {
		return parcelguard.ErrUnauthorized
	}
	return nil
}

// publicEvents are the event kinds a recipient sees in the timeline;
// failed attempts, locks, alarms and door movements stay internal.
var publicEvents = map[parcelguard.EventKind]bool{
	parcelguard.EventParcelAnnounced:  true,
	parcelguard.EventParcelReserved:   true,
	parcelguard.EventParcelDeposited:  true,
	parcelguard.EventParcelReminded:   true,
	parcelguard.EventParcelExtended:   true,
	parcelguard.EventParcelPickedUp:   true,
	parcelguard.EventParcelExpired:    true,
	parcelguard.EventParcelCollected:  true,
	parcelguard.EventParcelReturned:   true,
	parcelguard.EventParcelCancelled:  true,
	parcelguard.EventParcelRedirected: true,
	// Doorstep deliveries, from the carrier's doorstep stream: the
	// recipient sees each attempt and its outcome, never wrong passwords,
	// locks, positions or offline records.
	parcelguard.EventDoorstepOutForDelivery: true,
	parcelguard.EventDoorstepDelivered:      true,
	parcelguard.EventDoorstepAttemptFailed:  true,
	parcelguard.EventDoorstepRescheduled:    true,
	parcelguard.EventDoorstepRedirected:     true,
	parcelguard.EventDoorstepReturned:       true,
	parcelguard.EventDoorstepDelegated:      true,
	parcelguard.EventDoorstepDelegateRevoke: true,
}

// timelineEntry is the recipient's view of a public event: its time, kind
// and, for a failed attempt, the reason, for a rescheduled delivery, the
// new date. Nothing else of the event (actor, position, password ids)
// leaves the service.
func timelineEntry(e *parcelguard.Event) TimelineEntry {
	t := TimelineEntry{At: e.At, Kind: e.Kind}
	switch e.Kind {
	case parcelguard.EventDoorstepAttemptFailed:
		t.Reason = parcelguard.AttemptReason(e.Data["reason"])
	case parcelguard.EventDoorstepRescheduled:
		t.Date = e.Data["date"]
	}
	return t
}

// TimelineEntry is one public event of a parcel, from any audit stream
// (the parcel's locker, or its carrier's doorstep stream).
type TimelineEntry struct {
	At   time.Time
	Kind parcelguard.EventKind
	// Reason is why a doorstep attempt failed.
	Reason parcelguard.AttemptReason `json:",omitempty"`
	// Date is the new delivery date (YYYY-MM-DD) of a rescheduled one.
	Date string `json:",omitempty"`
}

// Tracking is what a recipient sees of their parcel.
type Tracking struct {
	Parcel *parcelguard.Parcel
	// Site is the parcel's locker; nil for a doorstep parcel.
	Site     *parcelguard.Site
	Carrier  *parcelguard.Carrier
	Timeline []TimelineEntry
	// Extended reports whether the deadline was already extended;
	// CanExtend whether ExtendDeadline would succeed now.
	Extended  bool
	CanExtend bool
}

// Track returns the recipient's view of the parcel of a link.
func (s *Service) Track(ctx context.Context, a *RecipientAccess) (*Tracking, error) {
	if err := checkAccess(a); err != nil {
		return nil, err
	}
	out := &Tracking{}
	err := s.store.View(ctx, func(tx parcelguard.Tx) (err error) {
		if out.Parcel, err = tx.Parcel(ctx, a.parcelID); err != nil {
			return err
		}
		if out.Parcel.SiteID != "" {
			if out.Site, err = tx.Site(ctx, out.Parcel.SiteID); err != nil {
				return err
			}
		}
		if out.Carrier, err = tx.Carrier(ctx, out.Parcel.CarrierID); err != nil {
			return err
		}
		events, err := tx.Events(ctx, parcelguard.EventFilter{ParcelID: a.parcelID, Limit: 1000})
		if err != nil {
			return err
		}
		for _, e := range events {
			if publicEvents[e.Kind] {
				out.Timeline = append(out.Timeline, timelineEntry(e))
			}
			out.Extended = out.Extended || e.Kind == parcelguard.EventParcelExtended
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("track %s: %w", a.parcelID, err)
	}
	out.CanExtend = extendable(out.Parcel, out.Carrier, out.Extended, s.clock.Now()) == nil
	return out, nil
}

// extendable says why the deadline of x cannot be extended now, or nil.
func extendable(x *parcelguard.Parcel, c *parcelguard.Carrier, extended bool, now time.Time) error {
	switch {
	case !parcelguard.CarrierAllowsExtension(c):
		return parcelguard.Errorf(parcelguard.EFORBIDDEN, "the carrier does not allow extending the deadline")
	case x.State != parcelguard.ParcelDeposited || !now.Before(x.Deadline):
		return parcelguard.Errorf(parcelguard.ECONFLICT, "only a parcel waiting in its locker can have its deadline extended")
	case extended:
		return parcelguard.Errorf(parcelguard.ECONFLICT, "the deadline was already extended once")
	}
	return nil
}

// PickupCredentials are what a recipient shows at the locker: the PIN and
// the same right as a signed QR token.
type PickupCredentials struct {
	PIN     string
	QRToken string
	SiteID  string
	// PhoneDigits reports whether the kiosk also asks for the last digits
	// of the recipient's phone with the PIN (the QR token needs none).
	PhoneDigits bool
	ExpiresAt   time.Time
}

// TrackCode returns the pickup PIN and a fresh QR token of the parcel of a
// link. It is the only place besides the recipient's messages where a code
// leaves the server; transports must not log or cache the answer.
func (s *Service) TrackCode(ctx context.Context, a *RecipientAccess) (*PickupCredentials, error) {
	if err := checkAccess(a); err != nil {
		return nil, err
	}
	pin, g, err := s.PickupCode(ctx, a.parcelID)
	if errors.Is(err, parcelguard.ErrNotFound) {
		return nil, parcelguard.Errorf(parcelguard.ECONFLICT, "the parcel has no active pickup code")
	}
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	if g.Usable(now) != nil {
		return nil, parcelguard.Errorf(parcelguard.ECONFLICT, "the parcel has no active pickup code")
	}
	tok, err := s.qrToken(g, now)
	if err != nil {
		return nil, fmt.Errorf("pickup code of %s: %w", a.parcelID, err)
	}
	return &PickupCredentials{PIN: pin, QRToken: tok, SiteID: g.SiteID, PhoneDigits: g.PhoneHash != nil, ExpiresAt: g.ExpiresAt}, nil
}

// qrToken signs a QR token for grant g: audience its site, subject the
// grant, valid from now until the grant expires.
func (s *Service) qrToken(g *parcelguard.Grant, now time.Time) (string, error) {
	t, err := code.NewToken(qrIssuer, g.SiteID, g.ID, string(g.Purpose), now.Add(-time.Minute), g.ExpiresAt)
	if err != nil {
		return "", err
	}
	signer, err := s.keys.TokenSigner()
	if err != nil {
		return "", err
	}
	return signer.Sign(t)
}

// ExtendDeadline moves the storage deadline of the parcel of a link by
// parcelguard.DeadlineExtension, once, where the carrier allows it. The
// pickup grant and the expiry and reminder timers move with it.
func (s *Service) ExtendDeadline(ctx context.Context, a *RecipientAccess) (*parcelguard.Parcel, error) {
	if err := checkAccess(a); err != nil {
		return nil, err
	}
	var x *parcelguard.Parcel
	err := s.update(ctx, func(tx parcelguard.Tx) (err error) {
		if x, err = tx.Parcel(ctx, a.parcelID); err != nil {
			return err
		}
		c, err := tx.Carrier(ctx, x.CarrierID)
		if err != nil {
			return err
		}
		events, err := tx.Events(ctx, parcelguard.EventFilter{ParcelID: x.ID, Limit: 1000})
		if err != nil {
			return err
		}
		extended := false
		for _, e := range events {
			extended = extended || e.Kind == parcelguard.EventParcelExtended
		}
		now := s.clock.Now()
		if err := extendable(x, c, extended, now); err != nil {
			return err
		}
		x.Deadline, x.UpdatedAt = x.Deadline.Add(parcelguard.DeadlineExtension), now
		grants, err := tx.GrantsOfParcel(ctx, x.ID)
		if err != nil {
			return err
		}
		for _, g := range grants {
			if g.Purpose == parcelguard.PurposePickup && (g.State == parcelguard.GrantActive || g.State == parcelguard.GrantLocked) {
				g.ExpiresAt = x.Deadline
				if err := tx.SaveGrant(ctx, g); err != nil {
					return err
				}
			}
		}
		if err := tx.SaveParcel(ctx, x); err != nil {
			return err
		}
		if err := s.scheduleStorageTimers(ctx, tx, x); err != nil {
			return err
		}
		return s.recordForCarrier(ctx, tx, a.principal(), x, &parcelguard.Event{Kind: parcelguard.EventParcelExtended,
			SiteID: x.SiteID, ParcelID: x.ID, Data: map[string]string{"deadline": x.Deadline.Format(time.RFC3339)}},
			map[string]string{"by": "recipient"})
	})
	if err != nil {
		return nil, fmt.Errorf("extend deadline of %s: %w", a.parcelID, err)
	}
	return x, nil
}
