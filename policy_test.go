package parcelguard_test

import (
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
)

// Ensure the storage period prefers the site's override, then the carrier's.
func TestStoragePeriod(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		name    string
		site    *parcelguard.Site
		carrier *parcelguard.Carrier
		want    time.Duration
	}{
		{"Default", &parcelguard.Site{}, &parcelguard.Carrier{}, 72 * time.Hour},
		{"Carrier", &parcelguard.Site{}, &parcelguard.Carrier{StoragePeriod: 2 * day}, 2 * day},
		{"SiteWins", &parcelguard.Site{StoragePeriod: 5 * day}, &parcelguard.Carrier{StoragePeriod: 2 * day}, 5 * day},
		{"Nil", nil, nil, 72 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parcelguard.StoragePeriod(tt.site, tt.carrier); got != tt.want {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}
