package code

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// maxKeyFileSize bounds what LoadKeyring reads, far above any real keyring.
const maxKeyFileSize = 1 << 20

// keyFile is the JSON form of a keyring: {"current":"k1","keys":{"k1":"<base64>"}}.
type keyFile struct {
	Current string            `json:"current"`
	Keys    map[string]string `json:"keys"`
}

// ParseKeyring decodes the JSON form of a keyring, as stored by Save or
// passed in an environment variable.
func ParseKeyring(data []byte) (*Keyring, error) {
	if len(data) > maxKeyFileSize {
		return nil, fmt.Errorf("parse keyring: larger than %d bytes", maxKeyFileSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	// Unknown fields and trailing data mean a file we do not understand;
	// guessing could silently drop a key.
	dec.DisallowUnknownFields()
	var f keyFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("parse keyring: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("parse keyring: trailing data after JSON object")
	}
	keys := make(map[string][]byte, len(f.Keys))
	for id, enc := range f.Keys {
		key, err := base64.StdEncoding.Strict().DecodeString(enc)
		if err != nil {
			// The error names only the id: the offset of a bad character
			// would hint at the key's content.
			return nil, fmt.Errorf("parse keyring: key %q is not valid base64", id)
		}
		keys[id] = key
	}
	k, err := NewKeyring(f.Current, keys)
	if err != nil {
		return nil, fmt.Errorf("parse keyring: %w", err)
	}
	return k, nil
}

// marshal returns the JSON form of the keyring, key material included. It
// is deliberately not MarshalJSON: a keyring inside a struct that gets
// logged as JSON must come out as {}, not as its keys.
func (k *Keyring) marshal() ([]byte, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	f := keyFile{Current: k.current, Keys: make(map[string]string, len(k.keys))}
	for id, key := range k.keys {
		f.Keys[id] = base64.StdEncoding.EncodeToString(key)
	}
	return json.Marshal(f)
}

// LoadKeyring reads a keyring file. It refuses a file that group or others
// may access, since anyone who reads the keys can forge tokens and test
// PINs against stolen hashes offline.
func LoadKeyring(path string) (*Keyring, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load keyring: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("load keyring: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("load keyring %s: not a regular file", path)
	}
	// Windows reports synthetic permission bits, so the check means nothing there.
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("load keyring %s: mode %04o lets group or others access the keys; chmod 600 it", path, perm)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("load keyring: %w", err)
	}
	k, err := ParseKeyring(data)
	if err != nil {
		return nil, fmt.Errorf("load keyring %s: %w", path, err)
	}
	return k, nil
}

// LoadOrCreateKeyring loads the keyring at path, or creates one with a fresh
// key (file 0600, parent directory 0700) if there is none.
func LoadOrCreateKeyring(path string) (*Keyring, error) {
	k, err := LoadKeyring(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create keyring: %w", err)
	}
	k, err = GenerateKeyring()
	if err != nil {
		return nil, fmt.Errorf("create keyring: %w", err)
	}
	// Link rather than rename: if another process created the file
	// meanwhile, we must use its keys, not overwrite them, or codes it
	// already hashed would never verify again.
	err = k.writeFile(path, os.Link)
	if errors.Is(err, fs.ErrExist) {
		return LoadKeyring(path)
	}
	if err != nil {
		return nil, fmt.Errorf("create keyring: %w", err)
	}
	return k, nil
}

// Save writes the keyring to path with mode 0600, atomically: readers see
// the old file or the new one, never a partial write.
func (k *Keyring) Save(path string) error {
	if err := k.writeFile(path, os.Rename); err != nil {
		return fmt.Errorf("save keyring: %w", err)
	}
	return nil
}

// writeFile writes the keyring to a 0600 temporary file in path's directory
// and moves it into place with place (os.Rename or os.Link).
func (k *Keyring) writeFile(path string, place func(oldpath, newpath string) error) (err error) {
	data, err := k.marshal()
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".keyring-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a rename there is nothing left to remove
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	// Sync before placing, so a crash cannot leave an empty key file behind.
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := place(tmp.Name(), path); err != nil {
		return err
	}
	syncDir(dir)
	return nil
}

// syncDir makes a rename durable where the platform allows; failure only
// weakens durability, so it is ignored.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}
