package storetest

import (
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
)

// t0 is the fixtures' reference time. It has microsecond precision, the
// finest every engine is expected to keep for ordinary timestamps; only
// event times must keep nanoseconds, because the audit hash covers them.
var t0 = time.Date(2026, 3, 2, 9, 30, 15, 123456000, time.UTC)

func newSite(id string) *parcelguard.Site {
	return &parcelguard.Site{
		ID:            id,
		Name:          "Locker " + id,
		Address:       "ul. Prosta 51, 00-838 Warszawa",
		Lat:           52.2297,
		Lon:           21.0122,
		TimeZone:      "Europe/Warsaw",
		OpeningHours:  "24/7",
		StoragePeriod: 48 * time.Hour,
		CreatedAt:     t0,
	}
}

func newCarrier(id string) *parcelguard.Carrier {
	return &parcelguard.Carrier{ID: id, Name: "Carrier " + id, PhoneFactor: true, StoragePeriod: 96 * time.Hour, CreatedAt: t0}
}

func newCompartment(id, siteID, label string, size parcelguard.SizeClass) *parcelguard.Compartment {
	return &parcelguard.Compartment{
		ID:         id,
		SiteID:     siteID,
		Label:      label,
		Size:       size,
		Dimensions: size.StandardDimensions(),
		State:      parcelguard.CompartmentFree,
	}
}

func newParcel(id, carrierID, siteID, tracking string) *parcelguard.Parcel {
	return &parcelguard.Parcel{
		ID:             id,
		CarrierID:      carrierID,
		TrackingNumber: tracking,
		Recipient: parcelguard.Recipient{
			Name:     "Anna Nowak",
			Phone:    "+48600100200",
			Email:    "anna@example.com",
			Language: "pl",
		},
		Size:          parcelguard.SizeM,
		DeclaredValue: 12999,
		Currency:      "PLN",
		Mode:          parcelguard.HandoverLocker,
		State:         parcelguard.ParcelAnnounced,
		SiteID:        siteID,
		Deadline:      t0.Add(72 * time.Hour),
		CreatedAt:     t0,
		UpdatedAt:     t0.Add(time.Second),
	}
}

func newGrant(id, parcelID, siteID, compartmentID string, purpose parcelguard.GrantPurpose, code string) *parcelguard.Grant {
	return &parcelguard.Grant{
		ID:            id,
		ParcelID:      parcelID,
		SiteID:        siteID,
		CompartmentID: compartmentID,
		Purpose:       purpose,
		State:         parcelguard.GrantActive,
		KeyID:         "k1",
		CodeHash:      codeHash(code),
		PhoneHash:     codeHash("phone:" + code),
		CodeSealed:    []byte("sealed:" + code),
		NotBefore:     t0,
		ExpiresAt:     t0.Add(72 * time.Hour),
		CreatedAt:     t0,
	}
}

// codeHash stands in for the keyed PIN hash.
func codeHash(code string) []byte {
	h := sha256.Sum256([]byte(code))
	return h[:]
}

// world is the usual set of rows a test builds on.
type world struct {
	site, site2       *parcelguard.Site
	carrier, carrier2 *parcelguard.Carrier
	compartment       *parcelguard.Compartment
	parcel            *parcelguard.Parcel
}

// seed creates two sites, two carriers, a compartment and a parcel.
func seed(t testing.TB, s parcelguard.Store) *world {
	t.Helper()
	w := &world{
		site:        newSite("site-1"),
		site2:       newSite("site-2"),
		carrier:     newCarrier("car-1"),
		carrier2:    newCarrier("car-2"),
		compartment: newCompartment("cmp-1", "site-1", "A01", parcelguard.SizeM),
		parcel:      newParcel("par-1", "car-1", "site-1", "TRK-0001"),
	}
	update(t, s, func(ctx context.Context, tx parcelguard.Tx) error {
		for _, site := range []*parcelguard.Site{w.site, w.site2} {
			if err := tx.CreateSite(ctx, site); err != nil {
				return err
			}
		}
		for _, c := range []*parcelguard.Carrier{w.carrier, w.carrier2} {
			if err := tx.CreateCarrier(ctx, c); err != nil {
				return err
			}
		}
		if err := tx.CreateCompartment(ctx, w.compartment); err != nil {
			return err
		}
		return tx.CreateParcel(ctx, w.parcel)
	})
	return w
}
