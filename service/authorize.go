package service

import (
	"github.com/parcelguard/parcelguard"
)

// require returns ErrForbidden unless p has one of the roles. Admins and the
// system itself may do anything; the zero principal nothing.
func require(p parcelguard.Principal, roles ...parcelguard.Role) error {
	if p.Role == parcelguard.RoleAdmin || p.Role == parcelguard.RoleSystem {
		return nil
	}
	for _, r := range roles {
		if p.Role == r {
			return nil
		}
	}
	if p.Role == "" {
		return parcelguard.ErrUnauthorized
	}
	return parcelguard.ErrForbidden
}

// canSeeParcel reports whether p may see parcel x. Carrier-bound roles see
// only their carrier's parcels, and the caller answers ErrNotFound otherwise
// so nobody learns whether another carrier's parcel exists.
func canSeeParcel(p parcelguard.Principal, x *parcelguard.Parcel) bool {
	switch p.Role {
	case parcelguard.RoleAdmin, parcelguard.RoleOperator, parcelguard.RoleSystem:
		return true
	case parcelguard.RoleCarrier, parcelguard.RoleCourier:
		return p.CarrierID != "" && p.CarrierID == x.CarrierID
	}
	return false
}
