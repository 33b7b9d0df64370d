package parcelguard_test

import (
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
)

func TestExtendedDeadline(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	h := time.Hour
	cases := []struct {
		name                 string
		deadline, start, end time.Time
		want                 time.Time
	}{
		{"outage early in the storage time: moved by its length",
			t0.Add(72 * h), t0.Add(2 * h), t0.Add(12 * h), t0.Add(82 * h)},
		{"outage across the deadline: moved by its length",
			t0.Add(72 * h), t0.Add(40 * h), t0.Add(80 * h), t0.Add(112 * h)},
		{"short outage just before the deadline: a full day after the end",
			t0.Add(72 * h), t0.Add(71 * h), t0.Add(73 * h), t0.Add(97 * h)},
		{"length and floor equal",
			t0.Add(72 * h), t0.Add(48 * h), t0.Add(60 * h), t0.Add(84 * h)},
		{"deadline already past when the outage began: a full day after the end",
			t0, t0.Add(h), t0.Add(3 * h), t0.Add(27 * h)},
		{"no length (end at start): still a day after it",
			t0.Add(72 * h), t0.Add(71*h + 30*time.Minute), t0.Add(71*h + 30*time.Minute), t0.Add(95*h + 30*time.Minute)},
		{"end before start (clock skew): counts as no length",
			t0.Add(72 * h), t0.Add(10 * h), t0.Add(5 * h), t0.Add(72 * h)},
		{"sub-second end: rounded up to the second",
			t0.Add(72 * h), t0.Add(71 * h), t0.Add(71*h + 500*time.Millisecond), t0.Add(95*h + time.Second)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := parcelguard.ExtendedDeadline(c.deadline, c.start, c.end)
			if !got.Equal(c.want) {
				t.Fatalf("ExtendedDeadline(%v, %v, %v) = %v, want %v", c.deadline, c.start, c.end, got, c.want)
			}
			// The rule's promises, whatever the case.
			if got.Before(c.deadline) {
				t.Errorf("deadline moved earlier: %v < %v", got, c.deadline)
			}
			if got.Before(c.end.Add(parcelguard.MinPickupAfterOutage)) {
				t.Errorf("less than %v after the end", parcelguard.MinPickupAfterOutage)
			}
			if l := c.end.Sub(c.start); l > 0 && got.Before(c.deadline.Add(l)) {
				t.Errorf("not moved by the outage's length %v", l)
			}
		})
	}
}

func TestLockerStatusDown(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	cases := []struct {
		s     parcelguard.LockerStatus
		down  bool
		since time.Time
	}{
		{parcelguard.LockerStatus{LastSeen: t0}, false, time.Time{}},
		{parcelguard.LockerStatus{Unreachable: true, UnreachableSince: t0}, true, t0},
		{parcelguard.LockerStatus{OutOfService: true, OutOfServiceSince: t0}, true, t0},
		{parcelguard.LockerStatus{Unreachable: true, UnreachableSince: t0.Add(time.Hour), OutOfService: true, OutOfServiceSince: t0}, true, t0},
		{parcelguard.LockerStatus{Unreachable: true, UnreachableSince: t0, OutOfService: true, OutOfServiceSince: t0.Add(time.Hour)}, true, t0},
	}
	for i, c := range cases {
		down, since := c.s.Down()
		if down != c.down || !since.Equal(c.since) {
			t.Errorf("%d: Down() = %v, %v; want %v, %v", i, down, since, c.down, c.since)
		}
	}
}
