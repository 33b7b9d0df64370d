package bench

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync/atomic"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/client"
)

// noticeTimeout is how long a recipient waits for an SMS before the run
// fails: an outbox that falls this far behind is not sustaining anything.
const noticeTimeout = 2 * time.Minute

// Recipients poll the mailbox, so how often they look is part of the
// load, and how late they look keeps each worker's parcel longer. A
// recipient first looks at 5/4 of the mean latency notices of the kind
// have lately had (the record of a delivery commits a little after the
// delivery), and after a miss waits on the noticeBoard: it looks again as soon
// as a later cause's SMS has been found, or after maxRepoll, but never
// sooner than a gap after its last look that doubles from minRepoll with
// each miss. The latency reported comes from the message's delivery
// time, not from when it was seen.
const (
	initialNoticeEstimate = 100 * time.Millisecond
	minRepoll             = 5 * time.Millisecond
	maxRepoll             = 100 * time.Millisecond
	// deliveryWeight is the weight of one notice in the mean latency.
	deliveryWeight = 1.0 / 16
)

// pinPattern finds the PIN in a deposit SMS: six digits after the code
// label's colon ("Pickup code for this parcel only: 123456").
var pinPattern = regexp.MustCompile(`:\s*(\d{6})(?:\D|$)`)

// recipients are the parcels' recipients reading their SMS in the local
// mailbox through the API, as the demo's operator does: the mailbox holds
// exactly what the outbox sent, so a message there has been sent.
type recipients struct {
	api *client.Client // an operator's: the mailbox holds codes
	// reads counts the mailbox reads.
	reads atomic.Int64
	board noticeBoard
	// delivery is each notice kind's recent mean latency, in nanoseconds.
	delivery [2]atomic.Int64
}

func newRecipients(api *client.Client) *recipients {
	r := &recipients{api: api}
	for i := range r.delivery {
		r.delivery[i].Store(int64(initialNoticeEstimate))
	}
	return r
}

func deliveryIndex(kind parcelguard.MessageKind) int {
	if kind == parcelguard.MessagePickedUp {
		return 1
	}
	return 0
}

// await waits until phone's SMS of kind is in the mailbox and returns it;
// since is when its cause was answered, where the waiting starts.
func (r *recipients) await(ctx context.Context, phone string, kind parcelguard.MessageKind, since time.Time) (*client.MailboxMessage, error) {
	mean := &r.delivery[deliveryIndex(kind)]
	look := since.Add(time.Duration(mean.Load()) * 5 / 4)
	deadline := since.Add(noticeTimeout)
	gap := minRepoll
	for {
		if look.After(deadline) {
			look = deadline
		}
		if !sleepUntil(ctx, look) {
			return nil, context.Cause(ctx)
		}
		m, err := r.find(ctx, phone, kind)
		if err != nil {
			return nil, err
		}
		looked := time.Now()
		if m != nil {
			r.board.found(since)
			learn(mean, m.At.Sub(since))
			return m, nil
		}
		if looked.After(deadline) {
			return nil, fmt.Errorf("no %s SMS sent within %v", kind, noticeTimeout)
		}
		w := r.board.wait(since)
		t := time.NewTimer(maxRepoll)
		select {
		case <-ctx.Done():
		case <-w.wake:
		case <-t.C:
		}
		t.Stop()
		r.board.leave(w)
		look = looked.Add(gap)
		gap = min(2*gap, maxRepoll)
	}
}

// learn moves the mean latency toward one notice's. Each step starts from
// the mean as it is now, so concurrent notices each pull it toward their
// own latency and none is lost to another.
func learn(mean *atomic.Int64, took time.Duration) {
	took = max(took, 0)
	for {
		old := mean.Load()
		next := old + int64(float64(int64(took)-old)*deliveryWeight)
		if mean.CompareAndSwap(old, next) {
			return
		}
	}
}

// find reads phone's messages and returns its SMS of kind, or nil. Each
// bench recipient has a phone of their own, so the list is short.
func (r *recipients) find(ctx context.Context, phone string, kind parcelguard.MessageKind) (*client.MailboxMessage, error) {
	r.reads.Add(1)
	page, err := r.api.Mailbox(ctx, client.MailboxQuery{Recipient: phone, Limit: 10})
	if err != nil {
		return nil, fmt.Errorf("read the mailbox: %w", err)
	}
	for i := range page.Items {
		m := &page.Items[i]
		if m.Kind == string(kind) && m.Channel == string(parcelguard.ChannelSMS) {
			return m, nil
		}
	}
	return nil, nil
}

// pinOf is the PIN of a deposit SMS.
func pinOf(text string) (string, error) {
	m := pinPattern.FindStringSubmatch(text)
	if m == nil {
		return "", errors.New("the deposit SMS holds no PIN")
	}
	return m[1], nil
}
