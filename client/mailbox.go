package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// MailboxMessage is a message the local mailbox channel captured instead
// of sending (servers with no e-mail, SMS or webhook channel, as the demo).
// Recipient messages hold pickup codes as the recipient would read them.
type MailboxMessage struct {
	ID             string    `json:"id"`
	MessageID      string    `json:"message_id"`
	IdempotencyKey string    `json:"idempotency_key"`
	Kind           string    `json:"kind"`
	Channel        string    `json:"channel"`
	To             string    `json:"to"`
	ParcelID       string    `json:"parcel_id,omitempty"`
	At             time.Time `json:"at"`
	Language       string    `json:"language,omitempty"`
	Subject        string    `json:"subject,omitempty"`
	Text           string    `json:"text,omitempty"`
	HTML           string    `json:"html,omitempty"`
	// EventType and Body are a webhook's event type and JSON body.
	EventType string          `json:"event_type,omitempty"`
	Body      json.RawMessage `json:"body,omitempty"`
}

// MailboxQuery selects mailbox messages; zero fields do not filter.
type MailboxQuery struct {
	Recipient, ParcelID, Cursor string
	Limit                       int
}

// Mailbox lists the local mailbox, oldest first, one page (operators and
// admins; the route exists only on servers that keep a mailbox).
func (c *Client) Mailbox(ctx context.Context, q MailboxQuery) (*Page[MailboxMessage], error) {
	v := url.Values{}
	for name, val := range map[string]string{"recipient": q.Recipient, "parcel_id": q.ParcelID, "cursor": q.Cursor} {
		if val != "" {
			v.Set(name, val)
		}
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var out Page[MailboxMessage]
	return result(&out, c.do(ctx, http.MethodGet, "/v1/mailbox", v, nil, &out))
}
