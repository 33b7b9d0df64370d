package parcelguard

import (
	"math"
	"testing"
)

func TestDistanceM(t *testing.T) {
	tests := []struct {
		name                   string
		lat1, lon1, lat2, lon2 float64
		want, tolerance        float64
	}{
		{"same point", 52.2297, 21.0122, 52.2297, 21.0122, 0, 0.001},
		{"Warsaw to Berlin", 52.2297, 21.0122, 52.5200, 13.4050, 517_000, 3_000},
		{"one degree of latitude", 0, 0, 1, 0, 111_195, 10},
		{"across the antimeridian", 0, 179.5, 0, -179.5, 111_195, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DistanceM(tt.lat1, tt.lon1, tt.lat2, tt.lon2)
			if math.Abs(got-tt.want) > tt.tolerance {
				t.Errorf("DistanceM = %.0f m, want %.0f ± %.0f", got, tt.want, tt.tolerance)
			}
		})
	}
}
