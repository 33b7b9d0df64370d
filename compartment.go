package parcelguard

import "fmt"

// SizeClass is a compartment or parcel size class, smallest first.
type SizeClass string

// Size classes. A parcel fits any compartment of its class or larger.
const (
	SizeS  SizeClass = "S"
	SizeM  SizeClass = "M"
	SizeL  SizeClass = "L"
	SizeXL SizeClass = "XL"
)

// SizeClasses lists the size classes from smallest to largest.
var SizeClasses = []SizeClass{SizeS, SizeM, SizeL, SizeXL}

// Dimensions are inner dimensions in millimetres.
type Dimensions struct {
	WidthMM, HeightMM, DepthMM int
}

// standardDimensions are the default inner dimensions of each class, after
// the common European locker format (8, 19, 41 cm high slots; XL for bulky).
var standardDimensions = map[SizeClass]Dimensions{
	SizeS:  {380, 80, 640},
	SizeM:  {380, 190, 640},
	SizeL:  {380, 410, 640},
	SizeXL: {500, 800, 640},
}

// Rank orders size classes; it is -1 for an unknown class.
func (s SizeClass) Rank() int {
	for i, c := range SizeClasses {
		if c == s {
			return i
		}
	}
	return -1
}

// Valid reports whether s is a known size class.
func (s SizeClass) Valid() bool { return s.Rank() >= 0 }

// Fits reports whether a parcel of class s fits a compartment of class c.
func (s SizeClass) Fits(c SizeClass) bool { return s.Valid() && c.Valid() && s.Rank() <= c.Rank() }

// StandardDimensions returns the default inner dimensions of the class.
func (s SizeClass) StandardDimensions() Dimensions { return standardDimensions[s] }

// CompartmentState is the occupancy or service state of a compartment.
type CompartmentState string

// Compartment states.
const (
	CompartmentFree       CompartmentState = "free"
	CompartmentReserved   CompartmentState = "reserved"
	CompartmentOccupied   CompartmentState = "occupied"
	CompartmentBlocked    CompartmentState = "blocked"
	CompartmentOutOfOrder CompartmentState = "out_of_order"
	// CompartmentRemoved is final: the door was taken out of the locker.
	// The row stays, since parcels and audit events name it.
	CompartmentRemoved CompartmentState = "removed"
)

// Compartment is one lockable door of a site.
type Compartment struct {
	ID     string
	SiteID string
	// Label is what is printed on the door, such as "A12".
	Label string
	Size  SizeClass
	Dimensions
	State CompartmentState
	// ParcelID is the parcel reserved into or held by the compartment.
	ParcelID string
	Version  int64
}

// Validate reports every invalid field of a new compartment.
func (c *Compartment) Validate() error {
	var f []FieldError
	if c.SiteID == "" {
		f = append(f, FieldError{"site_id", "is required"})
	}
	if c.Label == "" || len(c.Label) > 16 {
		f = append(f, FieldError{"label", "must be 1 to 16 characters"})
	}
	if !c.Size.Valid() {
		f = append(f, FieldError{"size", "must be one of S, M, L, XL"})
	}
	for name, v := range map[string]int{"width_mm": c.WidthMM, "height_mm": c.HeightMM, "depth_mm": c.DepthMM} {
		if v < 0 || v > 3000 {
			f = append(f, FieldError{name, "must be between 0 and 3000"})
		}
	}
	if len(f) > 0 {
		return Invalid(f...)
	}
	return nil
}

// Reserve holds a free compartment for a parcel.
func (c *Compartment) Reserve(parcelID string) error {
	if c.State != CompartmentFree {
		return fmt.Errorf("reserve compartment %s (%s): %w", c.ID, c.State, ErrCompartmentBusy)
	}
	c.State, c.ParcelID = CompartmentReserved, parcelID
	return nil
}

// Occupy marks the compartment as holding the parcel reserved into it.
func (c *Compartment) Occupy(parcelID string) error {
	if c.State != CompartmentReserved || c.ParcelID != parcelID {
		return fmt.Errorf("occupy compartment %s (%s): %w", c.ID, c.State, ErrCompartmentBusy)
	}
	c.State = CompartmentOccupied
	return nil
}

// Release empties the compartment after the parcel left it (or its
// reservation ended); a blocked or broken compartment keeps its state.
func (c *Compartment) Release(parcelID string) {
	if c.ParcelID != parcelID {
		return
	}
	c.ParcelID = ""
	if c.State == CompartmentReserved || c.State == CompartmentOccupied {
		c.State = CompartmentFree
	}
}
