package code

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestKeyringSaveLoad(t *testing.T) {
	k := fixedKeyring(t)
	path := filepath.Join(t.TempDir(), "keyring.json")
	if err := k.Save(path); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("saved mode %04o, want 0600", perm)
	}
	got, err := LoadKeyring(path)
	if err != nil {
		t.Fatal(err)
	}
	assertSameKeyring(t, got, k)
	// Saving again replaces the file in place and leaves no temp files.
	if _, err := k.Rotate(); err != nil {
		t.Fatal(err)
	}
	if err := k.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err = LoadKeyring(path)
	if err != nil {
		t.Fatal(err)
	}
	assertSameKeyring(t, got, k)
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the keyring", len(entries))
	}
}

func TestLoadKeyringRejectsLooseModes(t *testing.T) {
	data, err := fixedKeyring(t).marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660, 0o602} {
		t.Run(fmt.Sprintf("%04o", mode), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "keyring.json")
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, mode); err != nil { // WriteFile's mode is subject to umask
				t.Fatal(err)
			}
			if _, err := LoadKeyring(path); err == nil {
				t.Errorf("LoadKeyring accepted a file with mode %04o", mode)
			}
		})
	}
}

func TestLoadOrCreateKeyring(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "secrets")
	path := filepath.Join(dir, "keyring.json")
	k, err := LoadOrCreateKeyring(path)
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %04o, want %04o", p, fi.Mode().Perm(), want)
		}
	}
	again, err := LoadOrCreateKeyring(path)
	if err != nil {
		t.Fatal(err)
	}
	assertSameKeyring(t, again, k)
}

// TestLoadOrCreateKeyringConcurrent checks that processes starting together
// end up with one keyring, not each with its own.
func TestLoadOrCreateKeyringConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keyring.json")
	const n = 8
	rings := make([]*Keyring, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			k, err := LoadOrCreateKeyring(path)
			if err != nil {
				t.Error(err)
			}
			rings[i] = k
		})
	}
	wg.Wait()
	onDisk, err := LoadKeyring(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range rings {
		if k != nil {
			assertSameKeyring(t, k, onDisk)
		}
	}
}

func TestKeyringStringHidesKeys(t *testing.T) {
	k := fixedKeyring(t)
	if _, err := k.Rotate(); err != nil {
		t.Fatal(err)
	}
	// A keyring inside a struct that gets logged as JSON must not leak.
	js, err := json.Marshal(struct{ Keys *Keyring }{k})
	if err != nil || string(js) != `{"Keys":{}}` {
		t.Errorf("json.Marshal = %s, %v; want an empty object", js, err)
	}
	for _, out := range []string{k.String(), fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s", k, k, k, k)} {
		if !strings.Contains(out, "keyring(current=k3, 3 keys)") {
			t.Errorf("got %q, want keyring(current=k3, 3 keys)", out)
		}
		for _, id := range k.IDs() {
			key := mustKey(t, k, id)
			for _, enc := range []string{
				base64.StdEncoding.EncodeToString(key), base64.RawURLEncoding.EncodeToString(key),
				hex.EncodeToString(key), strings.ToUpper(hex.EncodeToString(key)), string(key),
			} {
				if strings.Contains(out, enc) {
					t.Errorf("%q contains key %s", out, id)
				}
			}
		}
	}
}

func TestParseKeyringRejects(t *testing.T) {
	key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	tests := map[string]string{
		"empty":           ``,
		"not an object":   `[]`,
		"no keys":         `{"current":"k1","keys":{}}`,
		"missing current": `{"current":"k2","keys":{"k1":"` + key + `"}}`,
		"bad base64":      `{"current":"k1","keys":{"k1":"!!!"}}`,
		"short key":       `{"current":"k1","keys":{"k1":"AAAA"}}`,
		"unknown field":   `{"current":"k1","keys":{"k1":"` + key + `"},"extra":1}`,
		"trailing data":   `{"current":"k1","keys":{"k1":"` + key + `"}} {}`,
		"bad id":          `{"current":"K1","keys":{"K1":"` + key + `"}}`,
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseKeyring([]byte(in)); err == nil {
				t.Error("ParseKeyring accepted invalid input")
			}
		})
	}
}

// assertSameKeyring fails unless a and b hold the same keys and current id.
func assertSameKeyring(t *testing.T, got, want *Keyring) {
	t.Helper()
	g, err := got.marshal()
	if err != nil {
		t.Fatal(err)
	}
	w, err := want.marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(g, w) {
		t.Errorf("keyrings differ: got %v, want %v", got, want)
	}
}
