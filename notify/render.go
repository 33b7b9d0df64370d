package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"strconv"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/code"
	"github.com/parcelguard/parcelguard/qr"
)

// CodeSource hands the renderer the plaintext pickup PIN of a parcel at
// send time; *service.Service implements it (PickupCode unseals the PIN).
// Codes are never written to the outbox.
type CodeSource interface {
	PickupCode(ctx context.Context, parcelID string) (pin string, g *parcelguard.Grant, err error)
}

// TxCodeSource is a CodeSource that reads a PIN inside a transaction the
// caller holds, so the dispatcher reads a whole batch's PINs in the one
// read it makes for the batch; *service.Service implements it.
type TxCodeSource interface {
	PickupCodeIn(ctx context.Context, tx parcelguard.Tx, parcelID string) (pin string, g *parcelguard.Grant, err error)
}

// GrantCodeSource is what the doorstep-password and delegate-code messages
// will need: the plaintext code of one grant. A CodeSource that does not
// implement it cannot send those kinds (they go dead with an alarm).
type GrantCodeSource interface {
	GrantCode(ctx context.Context, grantID string) (code string, g *parcelguard.Grant, err error)
}

// DoorstepCodeSource hands the renderer the plaintext of a doorstep
// delivery password (the recipient's or a delegate's) at send time;
// *service.Service implements it. A CodeSource that does not implement it
// cannot send those kinds (they go dead with an alarm).
type DoorstepCodeSource interface {
	DoorstepCode(ctx context.Context, passwordID string) (code string, p *parcelguard.DoorstepPassword, err error)
}

// Issuer is the issuer of the QR tokens in messages.
const Issuer = "parcelguard"

// Rendered is a message ready for its channel. It holds the code: it
// lives in memory only, except sealed in the mailbox.
type Rendered struct {
	MessageID      string                  `json:"message_id"`
	IdempotencyKey string                  `json:"idempotency_key"`
	Kind           parcelguard.MessageKind `json:"kind"`
	Channel        parcelguard.Channel     `json:"channel"`
	To             string                  `json:"to"`
	Language       string                  `json:"language,omitempty"`
	// Subject, Text (the SMS text for SMS) and HTML are the recipient
	// message; Inline holds the images the HTML refers to by cid.
	Subject string   `json:"subject,omitempty"`
	Text    string   `json:"text,omitempty"`
	HTML    string   `json:"html,omitempty"`
	Inline  []Inline `json:"inline,omitempty"`
	// EventType and Body are a webhook's event type and JSON body.
	EventType string          `json:"event_type,omitempty"`
	Body      json.RawMessage `json:"body,omitempty"`
}

// Inline is an image embedded in an HTML e-mail.
type Inline struct {
	ContentID   string `json:"content_id"`
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Data        []byte `json:"data"`
}

// skipError says a message has nothing left to say (the parcel was picked
// up before its deposit notice went out, say): it is marked sent, unsent.
type skipError struct{ reason string }

func (e *skipError) Error() string { return "skipped: " + e.reason }

func skip(reason string) error { return &skipError{reason} }

// renderer turns outbox messages into Rendered ones at send time.
type renderer struct {
	store parcelguard.Store
	codes CodeSource
	keys  *code.Keyring
}

// render loads what m refers to and renders it for its channel.
func (r *renderer) render(ctx context.Context, m *parcelguard.Message) (*Rendered, error) {
	x, site, carrier, err := r.load(ctx, m)
	if errors.Is(err, parcelguard.ErrNotFound) {
		return nil, Permanent(fmt.Errorf("render %s: %w", m.ID, err))
	}
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", m.ID, err)
	}
	out := &Rendered{MessageID: m.ID, IdempotencyKey: m.IdempotencyKey, Kind: m.Kind, Channel: m.Channel, To: m.Recipient}
	if m.Kind == parcelguard.MessageWebhook {
		out.EventType = m.Data["type"]
		out.Body, err = webhookBody(m, x)
		return out, err
	}

	v := &View{Lang: m.Language, Kind: m.Kind, Name: x.Recipient.Name, Tracking: x.TrackingNumber, Carrier: carrier.Name,
		PhoneFactor: carrier.PhoneFactor}
	loc := time.UTC
	if site != nil {
		loc = site.Location()
		v.Site = &SiteView{Name: site.Name, Address: site.Address, Hours: site.OpeningHours,
			Lat: strconv.FormatFloat(site.Lat, 'f', 6, 64), Lon: strconv.FormatFloat(site.Lon, 'f', 6, 64)}
		v.Site.MapURL = "https://www.openstreetmap.org/?mlat=" + v.Site.Lat + "&mlon=" + v.Site.Lon +
			"#map=18/" + v.Site.Lat + "/" + v.Site.Lon
	}
	lang := Language(m.Language)
	setDeadline := func(t time.Time) {
		if !t.IsZero() {
			v.Deadline, v.DeadlineShort = FormatTime(lang, t, loc), FormatShort(lang, t, loc)
		}
	}
	setDeadline(x.Deadline)
	var grant *parcelguard.Grant
	switch m.Kind {
	case parcelguard.MessageDeposit, parcelguard.MessageReminder:
		if x.State != parcelguard.ParcelDeposited {
			return nil, skip("parcel is " + string(x.State))
		}
		pin, g, err := r.pickupCode(ctx, x.ID)
		if errors.Is(err, parcelguard.ErrNotFound) {
			return nil, skip("no active pickup code")
		}
		if err != nil {
			return nil, err
		}
		if m.GrantID != "" && g.ID != m.GrantID {
			return nil, skip("pickup code was replaced")
		}
		v.Code, grant = pin, g
		setDeadline(g.ExpiresAt)
	case parcelguard.MessageExpiry, parcelguard.MessageRedirected:
	case parcelguard.MessageOutage, parcelguard.MessageDeadlineExtended:
		// No code: the recipient has it, and it does not change. The
		// deadline is the parcel's own (the extended one once the outage ended).
		if x.State != parcelguard.ParcelDeposited {
			return nil, skip("parcel is " + string(x.State))
		}
	case parcelguard.MessagePickedUp:
		if at, err := time.Parse(time.RFC3339Nano, m.Data["at"]); err == nil {
			v.At = FormatTime(lang, at, loc)
		}
		v.Delegate = m.Data["delegate"]
	case parcelguard.MessageAttemptFailed:
		v.NewDate = m.Data["new_date"]
	case parcelguard.MessageDoorstepPassword, parcelguard.MessageDoorstepDelegate:
		ds, ok := r.codes.(DoorstepCodeSource)
		if !ok {
			return nil, Permanent(fmt.Errorf("render %s: no source for %s codes", m.ID, m.Kind))
		}
		c, _, err := ds.DoorstepCode(ctx, m.GrantID)
		if errors.Is(err, parcelguard.ErrNotFound) {
			return nil, skip("no active delivery password")
		}
		if err != nil {
			return nil, err
		}
		v.Code, v.Date, v.OnBehalfOf = c, m.Data["date"], m.Data["on_behalf_of"]
		if m.Kind == parcelguard.MessageDoorstepDelegate {
			v.Name = m.Data["delegate"]
		} // a delivery password is spoken, not scanned: no QR code
	case parcelguard.MessageDoorstepRedirected, parcelguard.MessageDoorstepReturned:
	case parcelguard.MessageDoorstepPasswordDisabled:
		v.Date, v.NewDate = m.Data["date"], m.Data["new_date"]
	case parcelguard.MessageDelegateCode:
		gs, ok := r.codes.(GrantCodeSource)
		if !ok {
			return nil, Permanent(fmt.Errorf("render %s: no source for %s codes", m.ID, m.Kind))
		}
		c, g, err := gs.GrantCode(ctx, m.GrantID)
		if errors.Is(err, parcelguard.ErrNotFound) {
			return nil, skip("no active code")
		}
		if err != nil {
			return nil, err
		}
		v.Code = c
		v.Date, v.OnBehalfOf = m.Data["date"], m.Data["on_behalf_of"]
		if m.Kind == parcelguard.MessageDelegateCode {
			v.Name, v.PhoneFactor = m.Data["delegate"], false // the phone digits are the recipient's
			setDeadline(g.ExpiresAt)
			grant = g // a QR code for the delegate's grant
		} // a doorstep password is spoken, not scanned: no QR code
	default:
		return nil, Permanent(fmt.Errorf("render %s: unknown kind %q", m.ID, m.Kind))
	}

	if m.Channel == parcelguard.ChannelEmail && grant != nil && grant.SiteID != "" {
		token, err := PickupToken(r.keys, grant)
		if err != nil {
			return nil, err
		}
		png, err := qr.PNG(token, qr.DefaultPNGSize)
		if err != nil {
			return nil, err
		}
		cid := "qr." + m.ID + "@parcelguard"
		v.QRSrc = htmltemplate.URL("cid:" + cid)
		out.Inline = []Inline{{ContentID: cid, Name: "qr-code.png", ContentType: "image/png", Data: png}}
	}
	if v.TrackURL, err = r.trackingURL(ctx, m.Kind, x); err != nil {
		return nil, fmt.Errorf("render %s: tracking link: %w", m.ID, err)
	}
	c, err := renderContent(v, partsOf(m.Channel))
	if err != nil {
		return nil, Permanent(err)
	}
	out.Language = v.Lang
	switch m.Channel {
	case parcelguard.ChannelSMS:
		out.Text = c.SMS
	default:
		out.Subject, out.Text, out.HTML = c.Subject, c.Text, c.HTML
	}
	return out, nil
}

// PickupToken signs the QR token of a grant: issuer Issuer, audience the
// locker, subject the grant, its purpose, valid from the grant's start to
// its expiry. The http layer can render it with qr.SVG for the tracking
// page.
func PickupToken(keys *code.Keyring, g *parcelguard.Grant) (string, error) {
	signer, err := keys.TokenSigner()
	if err != nil {
		return "", err
	}
	t, err := code.NewToken(Issuer, g.SiteID, g.ID, string(g.Purpose), g.NotBefore, g.ExpiresAt)
	if err != nil {
		return "", fmt.Errorf("pickup token of %s: %w", g.ID, err)
	}
	return signer.Sign(t)
}

// WebhookEvent is the JSON body of a carrier webhook.
type WebhookEvent struct {
	// ID is the idempotency key: the same event always has the same ID,
	// so a receiver drops a repeated delivery by it.
	ID         string            `json:"id"`
	Type       string            `json:"type"`
	OccurredAt string            `json:"occurred_at"`
	CarrierID  string            `json:"carrier_id"`
	Parcel     WebhookParcel     `json:"parcel"`
	Data       map[string]string `json:"data,omitempty"`
}

// WebhookParcel is the parcel as of the event.
type WebhookParcel struct {
	ID             string `json:"id"`
	TrackingNumber string `json:"tracking_number"`
	State          string `json:"state"`
	SiteID         string `json:"site_id,omitempty"`
	Deadline       string `json:"deadline,omitempty"`
}

// webhookBody renders the event from what the message recorded at the
// time of the change (not the parcel's state now), so every delivery of
// one message carries the same body.
func webhookBody(m *parcelguard.Message, x *parcelguard.Parcel) ([]byte, error) {
	e := WebhookEvent{ID: m.IdempotencyKey, Type: m.Data["type"], OccurredAt: m.Data["at"], CarrierID: m.CarrierID,
		Parcel: WebhookParcel{ID: x.ID, TrackingNumber: x.TrackingNumber, State: m.Data["state"], SiteID: m.SiteID,
			Deadline: m.Data["deadline"]}}
	for k, val := range m.Data {
		switch k {
		case "type", "at", "state", "deadline":
		default:
			if e.Data == nil {
				e.Data = map[string]string{}
			}
			e.Data[k] = val
		}
	}
	return json.Marshal(e)
}
