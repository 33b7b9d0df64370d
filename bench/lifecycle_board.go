package bench

import (
	"container/heap"
	"sync"
	"time"
)

// noticeBoard tells waiting recipients when their SMS has probably
// arrived. The dispatcher claims messages oldest first, so once one
// recipient finds the SMS of a cause answered at t, the SMS of causes
// answered before t are most likely in the mailbox too: the board keeps
// the latest such t (the mark) and wakes the recipients waiting for
// causes up to it. They look once then, not on a timer, so a wide spread
// of notice latencies costs neither many reads nor long waits.
type noticeBoard struct {
	mu      sync.Mutex
	mark    time.Time
	waiting waiterHeap
}

// waiter is a recipient waiting for the mark to pass after.
type waiter struct {
	after time.Time
	wake  chan struct{}
	index int // in the heap; -1 once woken or gone
}

// wait registers a recipient whose cause was answered at since and whose
// last look found nothing: it is woken once the mark passes both since
// and the mark as it is now, since a find it already missed says nothing
// new.
func (b *noticeBoard) wait(since time.Time) *waiter {
	b.mu.Lock()
	defer b.mu.Unlock()
	w := &waiter{after: since, wake: make(chan struct{})}
	if b.mark.After(w.after) {
		w.after = b.mark
	}
	heap.Push(&b.waiting, w)
	return w
}

// leave unregisters w, woken or not.
func (b *noticeBoard) leave(w *waiter) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if w.index >= 0 {
		heap.Remove(&b.waiting, w.index)
	}
}

// found records that the SMS of a cause answered at since is in the
// mailbox, and wakes everyone waiting for causes before it.
func (b *noticeBoard) found(since time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !since.After(b.mark) {
		return
	}
	b.mark = since
	for len(b.waiting) > 0 && b.waiting[0].after.Before(b.mark) {
		close(heap.Pop(&b.waiting).(*waiter).wake)
	}
}

// waiterHeap orders waiters by the mark they wait for.
type waiterHeap []*waiter

func (h waiterHeap) Len() int           { return len(h) }
func (h waiterHeap) Less(i, j int) bool { return h[i].after.Before(h[j].after) }
func (h waiterHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}

// Push adds a waiter (heap.Interface).
func (h *waiterHeap) Push(x any) {
	w := x.(*waiter)
	w.index = len(*h)
	*h = append(*h, w)
}

// Pop removes the last waiter (heap.Interface).
func (h *waiterHeap) Pop() any {
	old := *h
	w := old[len(old)-1]
	old[len(old)-1] = nil
	w.index = -1
	*h = old[:len(old)-1]
	return w
}
