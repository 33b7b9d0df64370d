package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/code"
)

// Mailbox is the local channel: messages for which no real channel is
// configured are rendered and kept in the store, so the demo (and a
// developer) can read every message the product sends. Rendered messages
// contain codes, so each entry is sealed with the server keyring (bound to
// its message id) and opened only when read.
//
// Reading the mailbox reveals codes: the http layer must offer it only to
// operators of a demo or development deployment.
type Mailbox struct {
	store parcelguard.Store
	keys  *code.Keyring
	clock parcelguard.Clock
}

// NewMailbox returns the mailbox kept in store.
func NewMailbox(store parcelguard.Store, keys *code.Keyring, clock parcelguard.Clock) *Mailbox {
	return &Mailbox{store: store, keys: keys, clock: clock}
}

// MailboxMessage is a mailbox entry opened for reading.
type MailboxMessage struct {
	ID        string              `json:"id"`
	MessageID string              `json:"message_id"`
	Channel   parcelguard.Channel `json:"channel"`
	To        string              `json:"to"`
	ParcelID  string              `json:"parcel_id,omitempty"`
	At        time.Time           `json:"at"`
	Rendered
}

// mailboxAAD binds a sealed entry to its message, so an entry cannot be
// passed off as another's.
func mailboxAAD(messageID string) []byte { return []byte("mailbox|" + messageID) }

// entry seals r into a mailbox entry for m, to be stored in the
// transaction that marks m sent. Sealing happens before the transaction,
// off the store's writer.
func (mb *Mailbox) entry(m *parcelguard.Message, r *Rendered) (*parcelguard.MailboxEntry, error) {
	plain, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("mailbox: encode %s: %w", m.ID, err)
	}
	keyID := mb.keys.CurrentID()
	sealed, err := mb.keys.Seal(keyID, mailboxAAD(m.ID), plain)
	if err != nil {
		return nil, fmt.Errorf("mailbox: seal %s: %w", m.ID, err)
	}
	now := mb.clock.Now()
	return &parcelguard.MailboxEntry{ID: parcelguard.NewID("mbx", now), MessageID: m.ID, Channel: m.Channel,
		Recipient: m.Recipient, ParcelID: m.ParcelID, KeyID: keyID, Sealed: sealed, CreatedAt: now}, nil
}

// List returns mailbox messages, oldest first, opened. Filter by recipient
// address or parcel, page with After (the last ID seen) and Limit.
func (mb *Mailbox) List(ctx context.Context, f parcelguard.MailboxFilter) ([]*MailboxMessage, error) {
	var entries []*parcelguard.MailboxEntry
	err := mb.store.View(ctx, func(tx parcelguard.Tx) (err error) {
		entries, err = tx.MailboxEntries(ctx, f)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("mailbox: %w", err)
	}
	out := make([]*MailboxMessage, 0, len(entries))
	for _, e := range entries {
		plain, err := mb.keys.Open(e.KeyID, mailboxAAD(e.MessageID), e.Sealed)
		if err != nil {
			return nil, fmt.Errorf("mailbox: open %s: %w", e.ID, err)
		}
		mm := &MailboxMessage{ID: e.ID, MessageID: e.MessageID, Channel: e.Channel, To: e.Recipient, ParcelID: e.ParcelID, At: e.CreatedAt}
		if err := json.Unmarshal(plain, &mm.Rendered); err != nil {
			return nil, fmt.Errorf("mailbox: decode %s: %w", e.ID, err)
		}
		out = append(out, mm)
	}
	return out, nil
}
