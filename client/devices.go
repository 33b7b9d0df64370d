package client

import (
	"context"
	"net/http"
	"time"
)

// Locker is a provisioned locker agent with its last contact.
type Locker struct {
	SiteID        string    `json:"site_id"`
	SiteName      string    `json:"site_name,omitempty"`
	ProvisionedAt time.Time `json:"provisioned_at"`
	// LastSeenAt is nil if the locker never reported.
	LastSeenAt *time.Time `json:"last_seen_at,omitempty"`
	// Reachability is LockerNeverSeen, LockerReachable or
	// LockerUnreachable.
	Reachability     string     `json:"reachability"`
	UnreachableSince *time.Time `json:"unreachable_since,omitempty"`
	OutOfService     bool       `json:"out_of_service"`
	OutOfServiceNote string     `json:"out_of_service_note,omitempty"`
	PendingCommands  int        `json:"pending_commands"`
}

// Reachability of a locker.
const (
	LockerNeverSeen   = "never_seen"
	LockerReachable   = "reachable"
	LockerUnreachable = "unreachable"
)

// RemoteOpen is the answer to a remote open: queued for the locker, which
// accepts it for ValidSeconds.
type RemoteOpen struct {
	CompartmentID string `json:"compartment_id"`
	State         string `json:"state"`
	ValidSeconds  int64  `json:"valid_seconds"`
}

// LockerConfig holds settings for a locker, such as
// {"heartbeat_seconds": "60"}.
type LockerConfig struct {
	Settings map[string]string `json:"settings"`
}

// Lockers lists the provisioned locker agents (operators).
func (c *Client) Lockers(ctx context.Context) ([]Locker, error) {
	var out Page[Locker]
	if err := c.do(ctx, http.MethodGet, "/v1/lockers", nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Items, nil
}

// RemoteOpen asks the compartment's locker to open this one door now
// (operators); the reason is kept in the audit trail.
func (c *Client) RemoteOpen(ctx context.Context, compartmentID, reason string, opts ...CallOption) (*RemoteOpen, error) {
	var out RemoteOpen
	return result(&out, c.do(ctx, http.MethodPost, "/v1/compartments/"+seg(compartmentID)+"/open", nil,
		map[string]string{"reason": reason}, &out, opts...))
}

// ConfigureLocker sends settings to a site's locker (operators).
func (c *Client) ConfigureLocker(ctx context.Context, siteID string, settings map[string]string, opts ...CallOption) (*LockerConfig, error) {
	var out LockerConfig
	return result(&out, c.do(ctx, http.MethodPost, "/v1/sites/"+seg(siteID)+"/locker/config", nil, LockerConfig{Settings: settings}, &out, opts...))
}
