package parcelguard_test

import (
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
)

// Ensure the end of a delivery date is the first instant of the next local
// date, across DST changes, transitions at midnight, half-hour shifts and
// a skipped date.
func TestDeliveryDateEnd(t *testing.T) {
	for _, tc := range []struct {
		zone string
		date string
		// want is the end in UTC; hours is the length of the day.
		want  string
		hours float64
	}{
		{"Europe/Berlin", "2026-03-28", "2026-03-28T23:00:00Z", 24},
		{"Europe/Berlin", "2026-03-29", "2026-03-29T22:00:00Z", 23}, // spring forward
		{"Europe/Berlin", "2026-10-25", "2026-10-25T23:00:00Z", 25}, // fall back
		{"Europe/Berlin", "2026-10-24", "2026-10-24T22:00:00Z", 24},
		{"America/New_York", "2026-03-08", "2026-03-09T04:00:00Z", 23},
		{"America/New_York", "2026-11-01", "2026-11-02T05:00:00Z", 25},
		{"America/New_York", "2026-12-31", "2027-01-01T05:00:00Z", 24},
		{"Europe/Warsaw", "2026-06-15", "2026-06-15T22:00:00Z", 24},
		{"Europe/London", "2026-03-29", "2026-03-29T23:00:00Z", 23},
		{"Australia/Lord_Howe", "2026-10-04", "2026-10-04T13:00:00Z", 23.5}, // half-hour shift
		{"America/Havana", "2026-03-07", "2026-03-08T05:00:00Z", 24},        // next day starts at 01:00 (00:00 skipped)
		{"America/Havana", "2026-03-08", "2026-03-09T04:00:00Z", 23},
		{"America/Santiago", "2026-09-05", "2026-09-06T04:00:00Z", 24}, // 00:00 on 6 Sep is skipped
		{"Pacific/Apia", "2011-12-29", "2011-12-30T10:00:00Z", 24},     // 30 Dec 2011 never happened there
		{"UTC", "2024-02-29", "2024-03-01T00:00:00Z", 24},
	} {
		t.Run(tc.zone+"/"+tc.date, func(t *testing.T) {
			loc, err := time.LoadLocation(tc.zone)
			if err != nil {
				t.Fatal(err)
			}
			d, err := parcelguard.ParseDeliveryDate(tc.date)
			if err != nil {
				t.Fatal(err)
			}
			end, err := d.EndIn(loc)
			if err != nil {
				t.Fatal(err)
			}
			if got := end.Format(time.RFC3339); got != tc.want {
				t.Fatalf("end of %s in %s = %s (%s local), want %s", d, tc.zone, got, end.In(loc), tc.want)
			}
			// The last second still belongs to the date; the end does not.
			if parcelguard.DeliveryDateOf(end.Add(-time.Second), loc) != d {
				t.Fatalf("a second before the end is %s", end.Add(-time.Second).In(loc))
			}
			if parcelguard.DeliveryDateOf(end, loc) == d {
				t.Fatalf("the end %s is still on %s", end.In(loc), d)
			}
			start, err := d.StartIn(loc)
			if err != nil {
				t.Fatal(err)
			}
			if got := end.Sub(start).Hours(); got != tc.hours {
				t.Fatalf("day lasts %v h, want %v", got, tc.hours)
			}
		})
	}
	// Ensure a date the zone skipped is refused rather than misread.
	apia, _ := time.LoadLocation("Pacific/Apia")
	if _, err := (parcelguard.DeliveryDate{Year: 2011, Month: 12, Day: 30}).EndIn(apia); err == nil {
		t.Fatal("a skipped date has an end")
	}
}

// Ensure dates parse, print and step through month and year ends.
func TestDeliveryDateArithmetic(t *testing.T) {
	d, err := parcelguard.ParseDeliveryDate("2026-12-31")
	if err != nil {
		t.Fatal(err)
	}
	if got := d.AddDays(1).String(); got != "2027-01-01" {
		t.Fatalf("AddDays(1) = %s", got)
	}
	if got := d.AddDays(-365).String(); got != "2025-12-31" {
		t.Fatalf("AddDays(-365) = %s", got)
	}
	for _, bad := range []string{"", "2026-13-01", "2026-02-30", "26-1-1", "2026-01-01T00:00:00Z"} {
		if _, err := parcelguard.ParseDeliveryDate(bad); err == nil {
			t.Errorf("ParseDeliveryDate(%q) accepted", bad)
		}
	}
}
