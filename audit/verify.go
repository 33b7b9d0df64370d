// Package audit checks the hash chains of the event log, so any edit,
// deletion or reordering of stored events is found (SECURITY.md 15).
package audit

import (
	"bytes"
	"context"
	"fmt"

	"github.com/parcelguard/parcelguard"
)

// pageSize is how many events one read returns while walking a chain.
const pageSize = 1000

// Break describes the first broken link found in a stream.
type Break struct {
	Stream string
	// Seq is the position where the chain stops being intact.
	Seq    int64
	Reason string
}

func (b *Break) Error() string {
	return fmt.Sprintf("audit chain %s broken at seq %d: %s", b.Stream, b.Seq, b.Reason)
}

// Report is the outcome of a verification.
type Report struct {
	Streams int
	Events  int64
	// Heads maps each stream to its head hash, which an operator can
	// record elsewhere to anchor the chain.
	Heads map[string][]byte
	// Broken lists the first break of every broken stream.
	Broken []*Break
}

// OK reports whether every chain is intact.
func (r *Report) OK() bool { return len(r.Broken) == 0 }

// Verify walks every stream of the store from its first event to its
// recorded head and reports the first broken link of each.
func Verify(ctx context.Context, store parcelguard.Store) (*Report, error) {
	r := &Report{Heads: map[string][]byte{}}
	var streams []string
	err := store.View(ctx, func(tx parcelguard.Tx) (err error) {
		streams, err = tx.Streams(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list audit streams: %w", err)
	}
	for _, stream := range streams {
		brk, n, head, err := verifyStream(ctx, store, stream)
		if err != nil {
			return nil, err
		}
		r.Streams++
		r.Events += n
		r.Heads[stream] = head
		if brk != nil {
			r.Broken = append(r.Broken, brk)
		}
	}
	return r, nil
}

// verifyStream checks one chain: sequence numbers without gaps, each
// PrevHash equal to the previous Hash, each Hash recomputed from the event,
// and the last event equal to the stream's recorded head.
func verifyStream(ctx context.Context, store parcelguard.Store, stream string) (brk *Break, n int64, head []byte, err error) {
	var (
		prev    []byte
		lastSeq int64
	)
	for {
		var page []*parcelguard.Event
		var headSeq int64
		var headHash []byte
		err := store.View(ctx, func(tx parcelguard.Tx) (err error) {
			if page, err = tx.Events(ctx, parcelguard.EventFilter{Stream: stream, AfterSeq: lastSeq, Limit: pageSize}); err != nil {
				return err
			}
			headSeq, headHash, err = tx.StreamHead(ctx, stream)
			return err
		})
		if err != nil {
			return nil, n, nil, fmt.Errorf("read audit stream %s after %d: %w", stream, lastSeq, err)
		}
		for _, e := range page {
			n++
			want := lastSeq + 1
			switch {
			case e.Seq != want:
				return &Break{stream, want, fmt.Sprintf("expected seq %d, found %d (event deleted or moved)", want, e.Seq)}, n, prev, nil
			case !bytes.Equal(e.PrevHash, prev):
				return &Break{stream, e.Seq, "previous-hash link does not match (event deleted, inserted or reordered)"}, n, prev, nil
			case !bytes.Equal(e.Hash, parcelguard.ChainHash(prev, e)):
				return &Break{stream, e.Seq, "hash does not match the event's content (event edited)"}, n, prev, nil
			}
			prev, lastSeq = e.Hash, e.Seq
		}
		if len(page) < pageSize {
			if headSeq != lastSeq || !bytes.Equal(headHash, prev) {
				return &Break{stream, lastSeq + 1, fmt.Sprintf("chain ends at seq %d but its head says %d (events removed from the end)", lastSeq, headSeq)}, n, prev, nil
			}
			return nil, n, prev, nil
		}
	}
}
