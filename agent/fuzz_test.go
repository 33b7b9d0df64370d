package agent_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/parcelguard/parcelguard/agent"
)

// Ensure a provisioning file of any content loads into a valid
// provisioning or a clear error, never a panic (SECURITY.md 19).
func FuzzLoadProvisioning(f *testing.F) {
	good, _ := json.Marshal(agent.Provisioning{SiteID: "site_1", NATSURL: "nats://127.0.0.1:1", NATSUser: "locker-site_1", NATSPassword: "pw",
		CodeKeyID: "k1", CodeKeys: map[string][]byte{"k1": make([]byte, 32)}, PublicKeys: map[string][]byte{"k1": make([]byte, 32)},
		Compartments: []agent.Compartment{{ID: "cmp_1", Label: "A1", Lock: 1}}})
	f.Add(good)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"site_id":"*","compartments":[{"id":"a","lock":1},{"id":"b","lock":1}]}`))
	f.Add([]byte(`{"site_id":"s","code_key_id":"k1","code_keys":{"k1":"AAAA"},"public_keys":{"k1":"AAAA"},"compartments":[{"id":"a","lock":0}]}`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(dir, "p.json")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		p, err := agent.LoadProvisioning(path)
		if err != nil {
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("loaded an invalid provisioning: %v", err)
		}
	})
}
