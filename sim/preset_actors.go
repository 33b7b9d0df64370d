package sim

import "math"

// DoorstepShare is the share of a preset's parcels that go to the door
// instead of a locker; DelegateShare the share of locker recipients who
// name delegates.
const (
	DoorstepShare = 0.05
	DelegateShare = 0.03
)

// PresetActors returns the further actors a preset runs with: the
// doorstep shipments (DoorstepShare of the parcels; 40 in the small
// preset, so each outcome occurs) and the locker delegates.
func PresetActors(cfg Config) []Actor {
	n := int(math.Round(float64(cfg.Parcels) * DoorstepShare))
	if cfg.Preset == "small" {
		n = 40
	}
	return []Actor{NewDoorstep(DefaultDoorstep(n)), NewLockerDelegates(DelegateShare)}
}
