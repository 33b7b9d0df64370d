package http

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/notify"
)

// Mailbox lists the messages the local mailbox channel captured instead of
// sending them: every message when no e-mail, SMS or webhook channel is
// configured, as in the demo.
type Mailbox interface {
	List(ctx context.Context, f parcelguard.MailboxFilter) ([]*notify.MailboxMessage, error)
}

type mailboxInput struct {
	Recipient string `query:"recipient" maxLength:"254" doc:"Only messages to this address or number."`
	ParcelID  string `query:"parcel_id" maxLength:"64" doc:"Only messages about this parcel."`
	Cursor    string `query:"cursor" maxLength:"64" doc:"next_cursor of the previous page."`
	Limit     int    `query:"limit" minimum:"1" maximum:"200" default:"50"`
}

// registerMailboxRoutes adds GET /v1/mailbox when a mailbox is configured.
// Its messages hold pickup codes as the recipient would read them, so only
// operators and admins may list it; production deployments that send real
// messages keep it empty.
func (s *Server) registerMailboxRoutes() {
	if s.mailbox == nil {
		return
	}
	handle(s, huma.Operation{
		OperationID: "listMailbox",
		Method:      http.MethodGet,
		Path:        "/v1/mailbox",
		Summary:     "The local mailbox",
		Description: "Messages captured by the local mailbox channel (e-mail, SMS and webhooks not configured), newest last, with their rendered subject and bodies. Operators and admins only: the messages contain pickup codes.",
		Tags:        []string{"Operations"},
		Errors:      []int{http.StatusForbidden},
	}, s.handleMailbox)
}

func (s *Server) handleMailbox(ctx context.Context, p parcelguard.Principal, in *mailboxInput) (*reply[List[*notify.MailboxMessage]], error) {
	if p.Role != parcelguard.RoleAdmin && p.Role != parcelguard.RoleOperator {
		return nil, parcelguard.ErrForbidden
	}
	limit := in.Limit // huma applies the default of 50
	msgs, err := s.mailbox.List(ctx, parcelguard.MailboxFilter{Recipient: in.Recipient, ParcelID: in.ParcelID, After: in.Cursor, Limit: limit})
	if err != nil {
		return nil, err
	}
	out := List[*notify.MailboxMessage]{Items: msgs}
	if len(msgs) == limit {
		out.NextCursor = msgs[len(msgs)-1].ID
	}
	return &reply[List[*notify.MailboxMessage]]{Body: out}, nil
}
