package service

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"
)

// RecipientSession mints a short-lived link token for the parcel of a
// verified link, for the tracking page to keep in an HttpOnly cookie in
// place of the long-lived link itself. It expires after ttl, and never
// after the link it was exchanged for.
func (s *Service) RecipientSession(ctx context.Context, a *RecipientAccess, ttl time.Duration) (string, time.Time, error) {
	if err := checkAccess(a); err != nil {
		return "", time.Time{}, err
	}
	expiry := s.clock.Now().Add(ttl).Truncate(time.Second)
	if a.expires.Before(expiry) {
		expiry = a.expires
	}
	t := &recipientToken{keyID: s.keys.CurrentID(), expiry: expiry, parcelID: a.parcelID}
	if _, err := rand.Read(t.linkID[:]); err != nil {
		return "", time.Time{}, fmt.Errorf("recipient session: %w", err)
	}
	tag, err := s.recipientTag(t)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("recipient session: %w", err)
	}
	t.tag = tag
	return t.encode(), expiry, nil
}
