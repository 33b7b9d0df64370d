package service

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"

	"github.com/parcelguard/parcelguard"
)

// API keys look like "pgk_<prefix>_<secret>": the prefix (60 random bits)
// names the key in look-ups and logs; the secret (256 random bits) is shown
// once and stored only as its SHA-256, which suits a high-entropy secret.
const apiKeyScheme = "pgk"

var keyEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// NewAPIKeyInput describes a key to create.
type NewAPIKeyInput struct {
	Role      parcelguard.Role
	CarrierID string
	SiteID    string
	Name      string
}

// CreateAPIKey creates a key and returns its one-time plaintext token. Only
// admins and the system (the local CLI) may create keys.
func (s *Service) CreateAPIKey(ctx context.Context, p parcelguard.Principal, in NewAPIKeyInput) (token string, key *parcelguard.APIKey, err error) {
	if err := require(p); err != nil {
		return "", nil, err
	}
	var f []parcelguard.FieldError
	if !in.Role.Valid() || in.Role == parcelguard.RoleSystem {
		f = append(f, parcelguard.FieldError{Field: "role", Message: "must be admin, operator, carrier, courier or kiosk"})
	}
	if (in.Role == parcelguard.RoleCarrier || in.Role == parcelguard.RoleCourier) && in.CarrierID == "" {
		f = append(f, parcelguard.FieldError{Field: "carrier_id", Message: "is required for carrier and courier keys"})
	}
	if in.Role == parcelguard.RoleKiosk && in.SiteID == "" {
		f = append(f, parcelguard.FieldError{Field: "site_id", Message: "is required for kiosk keys"})
	}
	if len(in.Name) > 100 {
		f = append(f, parcelguard.FieldError{Field: "name", Message: "must be at most 100 characters"})
	}
	if len(f) > 0 {
		return "", nil, parcelguard.Invalid(f...)
	}
	var prefixBytes [8]byte
	var secret [32]byte
	if _, err := rand.Read(prefixBytes[:]); err != nil {
		return "", nil, fmt.Errorf("create api key: %w", err)
	}
	if _, err := rand.Read(secret[:]); err != nil {
		return "", nil, fmt.Errorf("create api key: %w", err)
	}
	secretText := keyEncoding.EncodeToString(secret[:])
	sum := sha256.Sum256([]byte(secretText))
	key = &parcelguard.APIKey{
		Prefix:     apiKeyScheme + "_" + keyEncoding.EncodeToString(prefixBytes[:])[:12],
		SecretHash: sum[:],
		Role:       in.Role,
		CarrierID:  in.CarrierID,
		SiteID:     in.SiteID,
		Name:       in.Name,
		CreatedAt:  s.clock.Now(),
	}
	err = s.update(ctx, func(tx parcelguard.Tx) error {
		if key.CarrierID != "" {
			if _, err := tx.Carrier(ctx, key.CarrierID); err != nil {
				return fieldNotFound("carrier_id", err)
			}
		}
		if key.SiteID != "" {
			if _, err := tx.Site(ctx, key.SiteID); err != nil {
				return fieldNotFound("site_id", err)
			}
		}
		if err := tx.CreateAPIKey(ctx, key); err != nil {
			return err
		}
		return s.appendEvent(ctx, tx, p, &parcelguard.Event{Kind: parcelguard.EventAPIKeyCreated, SiteID: key.SiteID,
			Data: map[string]string{"prefix": key.Prefix, "role": string(key.Role), "carrier_id": key.CarrierID}})
	})
	if err != nil {
		return "", nil, fmt.Errorf("create api key: %w", err)
	}
	return key.Prefix + "_" + secretText, key, nil
}

// Authenticate resolves an API key token to the principal it stands for.
// Every bad token gets the same ErrUnauthorized; a store failure is reported
// as such, so clients see 503 rather than a misleading 401. A key verified
// within AuthCacheTTL is not read again (apikey_cache.go).
func (s *Service) Authenticate(ctx context.Context, token string) (parcelguard.Principal, error) {
	prefix, secret, ok := splitAPIKey(token)
	if !ok {
		return parcelguard.Principal{}, parcelguard.ErrUnauthorized
	}
	sum := sha256.Sum256([]byte(secret))
	now := s.clock.Now()
	p, ok, gen := s.auth.get(prefix, sum, now)
	if ok {
		return p, nil
	}
	var key *parcelguard.APIKey
	err := s.store.View(ctx, func(tx parcelguard.Tx) (err error) {
		key, err = tx.APIKey(ctx, prefix)
		return err
	})
	if err != nil && !errors.Is(err, parcelguard.ErrNotFound) {
		return parcelguard.Principal{}, fmt.Errorf("authenticate %s: %w", prefix, err)
	}
	if err != nil || !key.RevokedAt.IsZero() || subtle.ConstantTimeCompare(sum[:], key.SecretHash) != 1 {
		return parcelguard.Principal{}, parcelguard.ErrUnauthorized
	}
	p = parcelguard.Principal{Role: key.Role, KeyPrefix: key.Prefix, CarrierID: key.CarrierID, SiteID: key.SiteID}
	s.auth.put(p, sum, now, gen)
	return p, nil
}

// splitAPIKey splits "pgk_<prefix>_<secret>" into "pgk_<prefix>" and secret.
func splitAPIKey(token string) (prefix, secret string, ok bool) {
	rest, found := strings.CutPrefix(token, apiKeyScheme+"_")
	if !found || len(rest) != 12+1+52 || rest[12] != '_' {
		return "", "", false
	}
	return apiKeyScheme + "_" + rest[:12], rest[13:], true
}
