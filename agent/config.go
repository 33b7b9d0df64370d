package agent

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/devicemsg"
	"github.com/parcelguard/parcelguard/door"
	"github.com/parcelguard/parcelguard/lockhw"
)

// Compartment maps a compartment id of the cloud to a lock of the board.
type Compartment struct {
	ID    string `json:"id"`
	Label string `json:"label"`
	Lock  int    `json:"lock"`
}

// Provisioning is the file the cloud hands a new locker once (mode 0600):
// its identity, device-channel credentials, the site-bound code keys and
// the cloud's public keys. It holds no key that could mint a QR token or a
// command, and no key that verifies codes of another site.
type Provisioning struct {
	SiteID string `json:"site_id"`
	// SiteName is shown on the kiosk (optional).
	SiteName     string            `json:"site_name,omitempty"`
	NATSURL      string            `json:"nats_url"`
	NATSUser     string            `json:"nats_user"`
	NATSPassword string            `json:"nats_password"`
	CodeKeyID    string            `json:"code_key_id"`
	CodeKeys     map[string][]byte `json:"code_keys"`
	PublicKeys   map[string][]byte `json:"public_keys"`
	Compartments []Compartment     `json:"compartments"`
}

// String hides the secrets.
func (p Provisioning) String() string { return "provisioning(" + p.SiteID + ")" }

// LoadProvisioning reads and checks a provisioning file.
func LoadProvisioning(path string) (*Provisioning, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load provisioning: %w", err)
	}
	var p Provisioning
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("load provisioning %s: %w", path, err)
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("load provisioning %s: %w", path, err)
	}
	return &p, nil
}

// Validate reports the first missing or bad field.
func (p *Provisioning) Validate() error {
	switch {
	case !devicemsg.ValidID(p.SiteID):
		return errors.New("site_id is missing or not an id")
	case len(p.CodeKeys) == 0 || p.CodeKeys[p.CodeKeyID] == nil:
		return errors.New("code_keys must hold the code_key_id")
	case len(p.PublicKeys) == 0:
		return errors.New("public_keys is empty")
	case len(p.Compartments) == 0:
		return errors.New("compartments is empty")
	}
	for id, k := range p.PublicKeys {
		if len(k) != ed25519.PublicKeySize {
			return fmt.Errorf("public key %q is %d bytes", id, len(k))
		}
	}
	seen := map[int]bool{}
	for _, c := range p.Compartments {
		if !devicemsg.ValidID(c.ID) || c.Lock < 1 || seen[c.Lock] {
			return fmt.Errorf("compartment %q: bad id or lock %d", c.ID, c.Lock)
		}
		seen[c.Lock] = true
	}
	return nil
}

// Camera is the video hook: it bookmarks an event in the video system and
// returns the bookmark id. A nil Camera means the site has none.
type Camera interface {
	Bookmark(ctx context.Context, cameraID, label string, at time.Time, eventID string) (string, error)
}

// Config is what New needs. Provisioning, Path and Driver are required.
type Config struct {
	Provisioning *Provisioning
	// Path is the agent's SQLite file.
	Path   string
	Driver lockhw.Driver
	Clock  parcelguard.Clock
	Door   door.Config
	// Camera and CameraID name the video hook; nil Camera: no camera.
	Camera   Camera
	CameraID string
	// CameraTimeout bounds one bookmark, retries included (default 3 s);
	// past it the event is stored unrecorded.
	CameraTimeout time.Duration
	// Heartbeat is how often the agent tells the cloud it is alive
	// (default 30 s); Poll how often it reads the door sensors (default
	// 250 ms); Flush how often it retries its outbox (default 1 s).
	Heartbeat, Poll, Flush time.Duration
	Logger                 *slog.Logger
}
