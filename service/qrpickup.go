package service

import (
	"context"
	"errors"
	"fmt"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/code"
)

// maxQRToken bounds a QR token before it is parsed; code.Verify bounds it
// again, exactly.
const maxQRToken = 1024

// PickupQR opens a parcel's compartment for a recipient who shows the QR
// token of its pickup grant (SECURITY.md 10) at the site's kiosk. The
// token must be signed by parcelguard, name this site as audience and a
// pickup grant of this site as subject, and be within its validity; the
// grant is then consumed exactly as by a PIN pickup (completePickup).
//
// The phone factor is not asked: the token itself is a 128-bit random,
// Ed25519-signed credential that only reaches the recipient's channels.
//
// Failures are audited (pickup.failed with method qr) but do not count
// against the grant or the locker guard, and a guard that blocks PIN
// attempts does not block a valid QR token: a forged token cannot be
// guessed into validity (it needs an Ed25519 signature), so counting
// garbage scans would only let anyone at the kiosk lock real recipients
// out. Floods of invalid tokens are bounded by the API's rate limits.
func (s *Service) PickupQR(ctx context.Context, p parcelguard.Principal, siteID, token string) (*PickupResult, error) {
	if err := require(p, parcelguard.RoleKiosk); err != nil {
		return nil, err
	}
	if p.Role == parcelguard.RoleKiosk && p.SiteID != siteID {
		return nil, parcelguard.ErrForbidden
	}
	if token == "" || len(token) > maxQRToken {
		return nil, parcelguard.Invalid(parcelguard.FieldError{Field: "token", Message: "must be a QR token"})
	}
	now := s.clock.Now()
	t, verr := code.NewTokenVerifier(s.keys.PublicKeys()).Verify(token, siteID, now)
	var res *PickupResult
	var outcome error
	err := s.update(ctx, func(tx parcelguard.Tx) error {
		res, outcome = nil, nil
		if _, err := tx.Site(ctx, siteID); err != nil {
			return err
		}
		fail := &parcelguard.Event{Kind: parcelguard.EventPickupFailed, SiteID: siteID,
			Data: map[string]string{"method": "qr"}}
		var g *parcelguard.Grant
		switch {
		case verr != nil:
			fail.Data["reason"], outcome = qrFailure(verr)
		case t.Issuer != qrIssuer || t.Purpose != string(parcelguard.PurposePickup):
			fail.Data["reason"], outcome = "qr_purpose", parcelguard.ErrCodeRejected
		default:
			var err error
			g, err = tx.Grant(ctx, t.Subject)
			switch {
			case errors.Is(err, parcelguard.ErrNotFound):
				fail.Data["reason"], outcome = "qr_unknown_grant", parcelguard.ErrCodeRejected
			case err != nil:
				return err
			case g.SiteID != siteID || g.Purpose != parcelguard.PurposePickup:
				fail.Data["reason"], outcome = "qr_wrong_grant", parcelguard.ErrCodeRejected
			default:
				if uerr := g.Usable(now); uerr != nil {
					fail.GrantID, fail.ParcelID = g.ID, g.ParcelID
					fail.Data["reason"], outcome = parcelguard.ErrorMessage(uerr), uerr
				}
			}
		}
		if outcome != nil {
			return s.appendEvent(ctx, tx, p, fail)
		}
		var err error
		res, err = s.completePickup(ctx, tx, p, g)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("qr pickup at %s: %w", siteID, err)
	}
	s.metrics.PickupAttempts.WithLabelValues(pickupOutcome(outcome)).Inc()
	if outcome != nil {
		return nil, outcome
	}
	return res, nil
}

// qrFailure classifies a token that failed verification. A token that is
// merely expired or not yet valid was genuine and says so; anything else
// (malformed, forged, another site's) gets the one ErrCodeRejected.
func qrFailure(err error) (reason string, outcome error) {
	switch {
	case errors.Is(err, code.ErrTokenExpired):
		return "qr_expired", parcelguard.ErrCodeExpired
	case errors.Is(err, code.ErrTokenNotYetValid):
		return "qr_not_yet_valid", parcelguard.ErrCodeRejected
	case errors.Is(err, code.ErrTokenAudience):
		return "qr_wrong_site", parcelguard.ErrCodeRejected
	case errors.Is(err, code.ErrTokenSignature):
		return "qr_signature", parcelguard.ErrCodeRejected
	}
	return "qr_malformed", parcelguard.ErrCodeRejected
}
