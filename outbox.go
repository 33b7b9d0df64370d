package parcelguard

import (
	"context"
	"time"
)

// MessageKind names what a notification says.
type MessageKind string

// Message kinds. Recipient messages (e-mail, SMS) are rendered from the
// templates of their kind; MessageWebhook tells a carrier about a state
// change.
const (
	// MessageDeposit tells the recipient the parcel is in the locker, with
	// the pickup PIN, the QR code and the deadline.
	MessageDeposit MessageKind = "deposit"
	// MessageReminder repeats the code ReminderLead before the deadline.
	MessageReminder MessageKind = "reminder"
	// MessageExpiry says the storage ended and the parcel goes back.
	MessageExpiry MessageKind = "expiry"
	// MessagePickedUp confirms the pickup and names who collected.
	MessagePickedUp MessageKind = "picked_up"
	// MessageDoorstepPassword carries the delivery password on the day.
	MessageDoorstepPassword MessageKind = "doorstep_password"
	// MessageAttemptFailed tells of a failed doorstep attempt and the new date.
	MessageAttemptFailed MessageKind = "attempt_failed"
	// MessageDelegateCode carries a delegate's code to the named person.
	MessageDelegateCode MessageKind = "delegate_code"
	// MessageWebhook tells the parcel's carrier about a state change; its
	// Data["type"] is the event kind.
	MessageWebhook MessageKind = "webhook"
)

// CarriesCode reports whether messages of kind k contain a secret code
// (SECURITY.md 18: they must say what it is for and that nobody will ask).
func (k MessageKind) CarriesCode() bool {
	switch k {
	case MessageDeposit, MessageReminder, MessageDoorstepPassword, MessageDelegateCode, MessageDoorstepDelegate:
		return true
	}
	return false
}

// Channel is how a message travels.
type Channel string

// Channels. Whichever is not configured delivers into the local mailbox.
const (
	ChannelEmail   Channel = "email"
	ChannelSMS     Channel = "sms"
	ChannelWebhook Channel = "webhook"
)

// MessageState is where a message is in its delivery.
type MessageState string

// Message states: pending until delivered (sent) or given up (dead).
const (
	MessagePending MessageState = "pending"
	MessageSent    MessageState = "sent"
	MessageDead    MessageState = "dead"
)

// EventNotificationDead is the operator alarm raised when a message is
// given up after its retries.
const EventNotificationDead EventKind = "alarm.notification_dead"

// Message is one notification in the transactional outbox. It is written in
// the same transaction as the state change that causes it and holds no
// secret: the sender renders it at send time, fetching a code only then.
type Message struct {
	ID string
	// IdempotencyKey names the cause, such as "deposit:<grant id>:email";
	// a second message with the same key is not stored, and the key travels
	// with the message (Message-ID, Idempotency-Key) so that a receiver can
	// drop the duplicate a crash may cause.
	IdempotencyKey string
	Kind           MessageKind
	Channel        Channel
	// Recipient is the address: an e-mail address, an E.164 phone number,
	// or for webhooks the carrier id.
	Recipient string
	// Language is the recipient's BCP 47 tag; rendering falls back to "en".
	Language  string
	ParcelID  string
	GrantID   string
	SiteID    string
	CarrierID string
	// Data holds details for rendering; never a code, key or token.
	Data  map[string]string
	State MessageState
	// DueAt is when the next attempt may start.
	DueAt time.Time
	// LeasedUntil and Lease are set by ClaimMessages: until LeasedUntil no
	// other sender claims the message, and only the holder of Lease may
	// MarkRetry or MarkDead it.
	LeasedUntil time.Time
	Lease       string
	// Attempts counts claims, so a sender that died mid-send counts too.
	Attempts  int
	LastError string
	CreatedAt time.Time
	SentAt    time.Time
}

// MessageFilter selects outbox messages; zero fields do not filter. Messages
// come in creation order (ascending ID).
type MessageFilter struct {
	ParcelID  string
	Recipient string
	Channel   Channel
	Kind      MessageKind
	State     MessageState
	// After is a cursor: only messages with an ID greater than it.
	After string
	Limit int
}

// MessageBacklog is how far delivery is behind at a moment: what
// operators watch to see notifications lag (an SMS gateway down, a
// dispatcher too slow for the load).
type MessageBacklog struct {
	// Due counts the pending messages due by then, leased or not.
	Due int
	// OldestDue is when the longest-waiting of them fell due; zero if
	// none is due.
	OldestDue time.Time
}

// MailboxEntry is a rendered message delivered into the local mailbox (the
// channel used when no real one is configured). The rendering holds the
// code, so it is stored only sealed with the server keyring.
type MailboxEntry struct {
	ID        string
	MessageID string
	Channel   Channel
	Recipient string
	ParcelID  string
	// KeyID names the keyring key that sealed Sealed.
	KeyID     string
	Sealed    []byte
	CreatedAt time.Time
}

// MailboxFilter selects mailbox entries; zero fields do not filter. Entries
// come in delivery order (ascending ID).
type MailboxFilter struct {
	Recipient string
	ParcelID  string
	After     string
	Limit     int
}

// OutboxTx is the part of Tx that keeps the notification outbox.
type OutboxTx interface {
	// EnqueueMessage stores m as pending (filling in an empty ID, State,
	// DueAt). A message whose IdempotencyKey is already stored is not
	// stored again, and that is no error. It reports nothing else, so an
	// engine may send the insert with a later statement or the commit.
	EnqueueMessage(ctx context.Context, m *Message) error
	// ClaimMessages leases up to limit pending messages due at or before
	// now and not leased beyond now, oldest due first: it sets LeasedUntil
	// to now+lease and a fresh Lease, counts an attempt, and returns them.
	// A message is claimed by at most one transaction at a time.
	ClaimMessages(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]*Message, error)
	// MarkSent marks a pending message sent at at, whoever holds it (the
	// message did go out); note may say why nothing was sent. A message
	// already sent or dead is left alone; an unknown one is ErrNotFound.
	MarkSent(ctx context.Context, id string, at time.Time, note string) error
	// MarkRetry releases the lease and makes the message due again at at,
	// recording lastErr. It fails with ErrConflict unless the message is
	// pending under lease.
	MarkRetry(ctx context.Context, id, lease string, at time.Time, lastErr string) error
	// MarkDead gives the message up, under the same condition as MarkRetry.
	MarkDead(ctx context.Context, id, lease string, at time.Time, lastErr string) error
	Message(ctx context.Context, id string) (*Message, error)
	Messages(ctx context.Context, f MessageFilter) ([]*Message, error)
	// MessageBacklog counts the pending messages due at or before now,
	// from the index the dispatcher claims by, so it costs the backlog
	// and not the outbox's history.
	MessageBacklog(ctx context.Context, now time.Time) (MessageBacklog, error)

	// MarkManySent marks each pending message of ids sent at at with note,
	// as MarkSent marks one, in as few statements as the engine can: the
	// dispatcher records a whole batch of deliveries in one transaction.
	// Messages already sent or dead are left alone; if an id is unknown it
	// fails with ErrNotFound.
	MarkManySent(ctx context.Context, ids []string, at time.Time, note string) error

	// AddMailboxEntry stores e (filling in an empty ID); a second entry for
	// the same MessageID is not stored and reports false.
	AddMailboxEntry(ctx context.Context, e *MailboxEntry) (bool, error)
	// AddMailboxEntries stores each entry as AddMailboxEntry does, in as
	// few statements as the engine can, and reports how many it stored.
	AddMailboxEntries(ctx context.Context, es []*MailboxEntry) (int, error)
	MailboxEntries(ctx context.Context, f MailboxFilter) ([]*MailboxEntry, error)
}
