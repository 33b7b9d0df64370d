package parcelguard_test

import (
	"testing"

	"github.com/parcelguard/parcelguard"
)

// Ensure redelivery skips weekends and each country's public holidays.
func TestNextWorkingDay(t *testing.T) {
	for _, tc := range []struct {
		country, after, want, why string
	}{
		{"DE", "2026-11-23", "2026-11-24", "Monday → Tuesday"},
		{"DE", "2026-11-27", "2026-11-30", "Friday → Monday"},
		{"DE", "2026-04-02", "2026-04-07", "Good Friday and Easter Monday"},
		{"DE", "2026-10-02", "2026-10-05", "German Unity Day on a Saturday"},
		{"DE", "2026-12-23", "2026-12-24", "Christmas Eve is a working day"},
		{"DE", "2026-12-24", "2026-12-28", "Christmas and Boxing Day"},
		{"DE", "2026-05-13", "2026-05-15", "Ascension Day"},
		{"IT", "2026-04-24", "2026-04-27", "Liberation Day on a Saturday"},
		{"IT", "2026-06-01", "2026-06-03", "Republic Day"},
		{"IT", "2026-08-14", "2026-08-17", "Ferragosto on a Saturday"},
		{"IT", "2026-12-07", "2026-12-09", "Immaculate Conception"},
		{"PL", "2026-04-30", "2026-05-04", "Labour Day, then the weekend with Constitution Day"},
		{"PL", "2026-11-10", "2026-11-12", "Independence Day"},
		{"PL", "2026-06-03", "2026-06-05", "Corpus Christi"},
		{"PL", "2026-01-05", "2026-01-07", "Epiphany"},
		{"GB", "2026-04-02", "2026-04-07", "Good Friday and Easter Monday"},
		{"GB", "2026-05-22", "2026-05-26", "Spring bank holiday"},
		{"GB", "2026-12-24", "2026-12-29", "Boxing Day on a Saturday, observed on Monday"},
		{"US", "2026-07-02", "2026-07-06", "Independence Day on a Saturday, observed on Friday"},
		{"US", "2026-11-25", "2026-11-27", "Thanksgiving"},
		{"US", "2026-01-16", "2026-01-20", "Martin Luther King Jr. Day"},
		{"US", "2026-12-24", "2026-12-28", "Christmas"},
	} {
		t.Run(tc.country+"/"+tc.after, func(t *testing.T) {
			after, err := parcelguard.ParseDeliveryDate(tc.after)
			if err != nil {
				t.Fatal(err)
			}
			if got := parcelguard.NextWorkingDay(tc.country, after).String(); got != tc.want {
				t.Fatalf("%s: next working day after %s = %s, want %s", tc.why, tc.after, got, tc.want)
			}
		})
	}
}

// Ensure the supported countries include the ones couriers serve first.
func TestKnownCountries(t *testing.T) {
	for _, c := range []string{"DE", "IT", "PL", "GB", "US"} {
		if !parcelguard.KnownCountry(c) {
			t.Errorf("%s unknown", c)
		}
	}
	if parcelguard.KnownCountry("XX") {
		t.Error("XX known")
	}
}
