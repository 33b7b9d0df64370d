package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/code"
)

// Sender delivers rendered messages over one channel. Send must honour
// ctx, and return an error marked Permanent when retrying cannot help.
// Every delivery carries r.IdempotencyKey so that the receiver can drop the
// duplicate a crash between sending and recording may cause.
type Sender interface {
	Send(ctx context.Context, r *Rendered) error
}

// Options are the dispatcher's collaborators; Store, Clock, Keys and Codes
// are required.
type Options struct {
	Store parcelguard.Store
	Clock parcelguard.Clock
	// Keys signs QR tokens and seals mailbox entries.
	Keys *code.Keyring
	// Codes unseals PINs at send time (*service.Service).
	Codes  CodeSource
	Logger *slog.Logger
	// Senders overrides the sender of a channel (tests, custom gateways);
	// otherwise the Config decides, and the mailbox takes the rest.
	Senders map[parcelguard.Channel]Sender
	// Rand returns a number in [0, 1) for retry jitter; default math/rand.
	Rand func() float64
}

// Dispatcher delivers the outbox: it claims due messages, renders them,
// sends them and records the outcome, retrying with exponential backoff and
// jitter until MaxAge, then giving up with an operator alarm. Several
// dispatchers, in one process or many, may run against one store: a claim
// leases messages so no two dispatchers send the same one at once.
type Dispatcher struct {
	store    parcelguard.Store
	clock    parcelguard.Clock
	log      *slog.Logger
	cfg      DispatchConfig
	render   *renderer
	senders  map[parcelguard.Channel]Sender
	webhooks *WebhookSender
	mailbox  *Mailbox
	rand     func() float64
}

// New returns a dispatcher for cfg; cfg must Validate.
func New(cfg Config, o Options) (*Dispatcher, error) {
	if o.Store == nil || o.Clock == nil || o.Keys == nil || o.Codes == nil {
		return nil, errors.New("notify: Store, Clock, Keys and Codes are required")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	d := &Dispatcher{store: o.Store, clock: o.Clock, log: o.Logger, cfg: cfg.Dispatch.withDefaults(),
		render:  &renderer{store: o.Store, codes: o.Codes, keys: o.Keys},
		senders: map[parcelguard.Channel]Sender{}, mailbox: NewMailbox(o.Store, o.Keys, o.Clock), rand: o.Rand}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	if d.rand == nil {
		d.rand = rand.Float64
	}
	if cfg.Email != nil {
		d.senders[parcelguard.ChannelEmail] = NewSMTPSender(*cfg.Email)
	}
	if cfg.SMS != nil {
		d.senders[parcelguard.ChannelSMS] = NewSMSSender(*cfg.SMS, nil)
	}
	if len(cfg.Webhooks) > 0 {
		d.webhooks = NewWebhookSender(cfg.Webhooks, o.Clock, nil)
		d.senders[parcelguard.ChannelWebhook] = d.webhooks
	}
	for ch, s := range o.Senders {
		d.senders[ch] = s
	}
	return d, nil
}

// Mailbox returns the local mailbox the dispatcher delivers into.
func (d *Dispatcher) Mailbox() *Mailbox { return d.mailbox }

// senderFor returns the sender of m, or nil for the mailbox.
func (d *Dispatcher) senderFor(m *parcelguard.Message) Sender {
	s := d.senders[m.Channel]
	if m.Channel == parcelguard.ChannelWebhook && s == d.webhooks && d.webhooks != nil && !d.webhooks.Has(m.Recipient) {
		return nil // a carrier without an endpoint: its events go to the mailbox
	}
	return s
}

// Run dispatches due messages until ctx ends, polling every interval of
// real time; due-ness is judged by the injected clock.
func (d *Dispatcher) Run(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := d.DispatchDue(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			d.log.Error("dispatch pass failed", "err", err, "handled", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// DispatchDue handles every message due at the clock's now, batch by batch,
// and returns how many it handled (sent, retried later or given up).
//
// The batches overlap: once the last message of a batch is on a worker,
// the next batch is claimed and its data prefetched while the workers
// finish, so the workers do not stand idle through a claim and a read at
// every batch's end. Outcomes are recorded as they come in: whatever
// outcomes are waiting when the store is free are recorded in one
// transaction, so a busy dispatcher commits many deliveries at once. A
// worker that sent a message out takes its next one only once that
// outcome is recorded, and none does once the store failed to record one,
// so a crash repeats at most one message per worker (see
// outcome.sentOutside).
func (d *Dispatcher) DispatchDue(ctx context.Context) (int, error) {
	first, err := d.claim(ctx)
	if err != nil || len(first) == 0 {
		return 0, err // nothing due: no workers to start
	}
	var (
		wg       sync.WaitGroup
		next     = make(chan job)
		outcomes = make(chan *outcome, d.cfg.Batch)
		recorded = make(chan error, 1)
		broken   atomic.Bool // the store failed: send nothing more
	)
	go func() { recorded <- d.recordAll(ctx, outcomes, d.cfg.Batch, &broken) }()
	for range d.cfg.Workers {
		wg.Go(func() {
			for j := range next {
				if broken.Load() {
					continue // its lease runs out and a later pass sends it
				}
				o := d.handle(j.ctx, j.m)
				o.recorded = make(chan struct{})
				outcomes <- o
				if o.sentOutside() {
					<-o.recorded
				}
			}
		})
	}

	total, err := d.feed(ctx, first, next, &broken)
	close(next)
	wg.Wait()
	close(outcomes)
	return total, errors.Join(err, <-recorded)
}

// job is a claimed message on its way to a worker, with its batch's
// context (the data prefetched for it).
type job struct {
	ctx context.Context
	m   *parcelguard.Message
}

// claim leases the next batch of due messages.
func (d *Dispatcher) claim(ctx context.Context) ([]*parcelguard.Message, error) {
	var claimed []*parcelguard.Message
	err := d.store.Update(ctx, func(tx parcelguard.Tx) (err error) {
		claimed, err = tx.ClaimMessages(ctx, d.clock.Now(), d.cfg.Batch, d.cfg.Lease)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim messages: %w", err)
	}
	return claimed, nil
}

// feed hands the claimed batch to the workers, then claims the next,
// until a claim comes back short or the store failed.
func (d *Dispatcher) feed(ctx context.Context, claimed []*parcelguard.Message, next chan<- job, broken *atomic.Bool) (int, error) {
	total := 0
	for {
		hctx := ctx
		if b := d.render.prefetch(ctx, claimed); b != nil {
			hctx = withBatch(ctx, b)
		}
		for _, m := range claimed {
			next <- job{hctx, m}
		}
		total += len(claimed)
		if len(claimed) < d.cfg.Batch || broken.Load() {
			return total, nil
		}
		var err error
		if claimed, err = d.claim(ctx); err != nil || len(claimed) == 0 {
			return total, err
		}
	}
}

// outcome is what handling one message left to record.
type outcome struct {
	m *parcelguard.Message
	// sent marks the message sent, after storing entry in the mailbox if
	// there is one.
	sent  bool
	entry *parcelguard.MailboxEntry
	// record records anything else: a skip, a retry, a death.
	record func(ctx context.Context, tx parcelguard.Tx) error
	// err is why there is nothing to record (shutting down).
	err error
	// recorded is closed once the outcome is recorded or has failed to be.
	recorded chan struct{}
}

// sentOutside reports whether the outcome's message left the process (an
// e-mail, an SMS, a webhook). Only such a worker waits for the record
// before its next message, so a crash repeats at most one delivery per
// worker. A mailbox delivery is its record, and a skip, retry or death
// sends nothing: if their record is lost, the lease brings the message
// back with nothing repeated, so the worker moves on at once instead of
// holding its slot through the commit.
func (o *outcome) sentOutside() bool { return o.sent && o.entry == nil }

// recordAll records outcomes until the channel closes, as many at once as
// are waiting, up to limit. It sets broken when the store failed to record
// an outcome for any reason but the outcome's own (a lost lease, a message
// gone).
func (d *Dispatcher) recordAll(ctx context.Context, outcomes <-chan *outcome, limit int, broken *atomic.Bool) error {
	var (
		errs  []error
		batch = make([]*outcome, 0, limit)
	)
	for o := range outcomes {
		batch = append(batch[:0], o)
	fill:
		for len(batch) < limit {
			select {
			case o, ok := <-outcomes:
				if !ok {
					break fill
				}
				batch = append(batch, o)
			default:
				break fill
			}
		}
		for _, err := range d.recordBatch(ctx, batch) {
			if !errors.Is(err, parcelguard.ErrConflict) && !errors.Is(err, parcelguard.ErrNotFound) {
				broken.Store(true)
			}
			errs = append(errs, err)
		}
		for _, o := range batch {
			close(o.recorded)
		}
	}
	return errors.Join(errs...)
}

// recordBatch records the outcomes in one transaction. If that fails, it
// records them one by one, so one message that cannot be recorded holds
// back no other and the error names it. An outcome that is not recorded
// keeps its lease until it runs out; another pass then tries it again (at
// most one duplicate).
func (d *Dispatcher) recordBatch(ctx context.Context, batch []*outcome) []error {
	var errs []error
	live := batch[:0:0]
	for _, o := range batch {
		if o.err != nil {
			errs = append(errs, o.err)
			continue
		}
		live = append(live, o)
	}
	if len(live) == 0 {
		return errs
	}
	ctx = context.WithoutCancel(ctx)
	err := d.store.Update(ctx, func(tx parcelguard.Tx) error { return d.apply(ctx, tx, live) })
	if err == nil {
		return errs
	}
	if len(live) == 1 {
		return append(errs, fmt.Errorf("record outcome of message %s: %w", live[0].m.ID, err))
	}
	for _, o := range live {
		if err := d.store.Update(ctx, func(tx parcelguard.Tx) error { return d.apply(ctx, tx, []*outcome{o}) }); err != nil {
			errs = append(errs, fmt.Errorf("record outcome of message %s: %w", o.m.ID, err))
		}
	}
	return errs
}

// apply writes the outcomes in tx: the mailbox entries in one go, the
// sent messages in one go, then each other outcome.
func (d *Dispatcher) apply(ctx context.Context, tx parcelguard.Tx, batch []*outcome) error {
	var (
		entries []*parcelguard.MailboxEntry
		sent    []string
	)
	for _, o := range batch {
		if o.entry != nil {
			entries = append(entries, o.entry)
		}
		if o.sent {
			sent = append(sent, o.m.ID)
		}
	}
	if len(entries) > 0 {
		if _, err := tx.AddMailboxEntries(ctx, entries); err != nil {
			return err
		}
	}
	if len(sent) > 0 {
		if err := tx.MarkManySent(ctx, sent, d.clock.Now(), ""); err != nil {
			return err
		}
	}
	for _, o := range batch {
		if o.record != nil {
			if err := o.record(ctx, tx); err != nil {
				return err
			}
		}
	}
	return nil
}

// handle renders and sends one claimed message and returns what to record.
func (d *Dispatcher) handle(ctx context.Context, m *parcelguard.Message) *outcome {
	sendCtx, cancel := context.WithTimeout(ctx, d.cfg.Lease*3/4)
	defer cancel()
	r, err := d.render.render(sendCtx, m)
	var sk *skipError
	switch {
	case errors.As(err, &sk):
		d.log.Info("message skipped", "message", m.ID, "kind", m.Kind, "reason", sk.reason)
		return &outcome{m: m, record: func(ctx context.Context, tx parcelguard.Tx) error {
			return tx.MarkSent(ctx, m.ID, d.clock.Now(), sk.Error())
		}}
	case err != nil:
		return d.failed(m, err)
	}
	s := d.senderFor(m)
	if s == nil {
		// The mailbox entry is stored in the same transaction that marks
		// the message sent: exactly once.
		e, err := d.mailbox.entry(m, r)
		if err != nil {
			return d.failed(m, err)
		}
		return &outcome{m: m, sent: true, entry: e}
	}
	if err := s.Send(sendCtx, r); err != nil {
		if ctx.Err() != nil {
			return &outcome{m: m, err: ctx.Err()} // shutting down: the lease brings it back
		}
		return d.failed(m, err)
	}
	d.log.Info("message sent", "message", m.ID, "kind", m.Kind, "channel", m.Channel, "attempt", m.Attempts)
	return &outcome{m: m, sent: true}
}

// failed schedules a retry, or gives the message up when the failure is
// permanent or the message is older than MaxAge.
func (d *Dispatcher) failed(m *parcelguard.Message, cause error) *outcome {
	now := d.clock.Now()
	msg := errorText(cause)
	if IsPermanent(cause) || !now.Before(m.CreatedAt.Add(d.cfg.MaxAge)) {
		d.log.Error("message dead", "message", m.ID, "kind", m.Kind, "channel", m.Channel, "attempts", m.Attempts, "err", msg)
		return &outcome{m: m, record: func(ctx context.Context, tx parcelguard.Tx) error {
			if err := tx.MarkDead(ctx, m.ID, m.Lease, now, msg); err != nil {
				return err
			}
			stream := parcelguard.SystemStream
			if m.SiteID != "" {
				stream = parcelguard.SiteStream(m.SiteID)
			}
			return tx.AppendEvent(ctx, &parcelguard.Event{ID: parcelguard.NewID("evt", now), Stream: stream, At: now,
				Kind: parcelguard.EventNotificationDead, SiteID: m.SiteID, ParcelID: m.ParcelID, GrantID: m.GrantID,
				Actor: parcelguard.System.Actor(), Data: map[string]string{"message_id": m.ID, "kind": string(m.Kind),
					"channel": string(m.Channel), "attempts": strconv.Itoa(m.Attempts), "error": truncate(msg, 200)}})
		}}
	}
	at := d.nextAttempt(m, now, retryAfterOf(cause))
	d.log.Warn("message retry", "message", m.ID, "kind", m.Kind, "channel", m.Channel, "attempts", m.Attempts,
		"next", at, "err", msg)
	return &outcome{m: m, record: func(ctx context.Context, tx parcelguard.Tx) error {
		return tx.MarkRetry(ctx, m.ID, m.Lease, at, msg)
	}}
}

// nextAttempt is exponential backoff with equal jitter: after attempt n the
// delay is between half and all of RetryBase·2^(n-1) (at most RetryMax),
// at least what the receiver asked for, and never past the message's
// MaxAge, where one last attempt happens.
func (d *Dispatcher) nextAttempt(m *parcelguard.Message, now time.Time, atLeast time.Duration) time.Time {
	delay := d.cfg.RetryBase
	for i := 1; i < m.Attempts && delay < d.cfg.RetryMax; i++ {
		delay *= 2
	}
	delay = min(delay, d.cfg.RetryMax)
	delay = delay/2 + time.Duration(d.rand()*float64(delay/2))
	delay = max(delay, atLeast)
	at := now.Add(delay)
	if last := m.CreatedAt.Add(d.cfg.MaxAge); at.After(last) {
		at = last
	}
	return at
}

// errorText is what the outbox records of an error: bounded, one line.
func errorText(err error) string { return truncate(err.Error(), 500) }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 { // do not cut a UTF-8 sequence
		n--
	}
	return s[:n] + "…"
}
