package service

import (
	"context"
	"time"

	"github.com/parcelguard/parcelguard"
)

// DoorstepStop is one doorstep delivery on a courier's manifest.
type DoorstepStop struct {
	Parcel *parcelguard.Parcel
}

// doorstepManifest returns the doorstep deliveries of day for the caller's
// carrier (all carriers for operators) inside the manifest's transaction.
// It is the extension point of the doorstep area, which fills it (and
// DoorstepStop) once delivery days and attempts exist; until then a
// manifest lists locker work only.
func (s *Service) doorstepManifest(ctx context.Context, tx parcelguard.Tx, p parcelguard.Principal, day time.Time) ([]DoorstepStop, error) {
	return nil, nil
}
