package main

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/camera"
)

func TestCameraFlags(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "cam.secret")
	if err := os.WriteFile(secretFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args    []string
		env     map[string]string
		kind    string // "" for no hook
		wantErr string
	}{
		{args: nil},
		{args: []string{"--camera", "frigate+http://127.0.0.1:5000"}, kind: "frigate"},
		{args: []string{"--camera", "webhook+https://vms.example/b", "--camera-secret-file", secretFile}, kind: "webhook"},
		{args: []string{"--camera", "webhook+https://vms.example/b"}, env: map[string]string{"PARCELGUARD_CAMERA_SECRET": "x"}, kind: "webhook"},
		{args: []string{"--camera", "webhook+https://vms.example/b"}, wantErr: "signing secret"},
		{args: []string{"--camera", "frigate+http://h", "--camera-attempts", "0"}, wantErr: "--camera-attempts"},
		{args: []string{"--camera", "frigate+http://h", "--camera-timeout", "0s"}, wantErr: "--camera-timeout"},
		{args: []string{"--camera", "nvr+http://h"}, wantErr: "--camera"},
		{args: []string{"--camera", "frigate+http://h", "--camera-secret-file", filepath.Join(dir, "missing")}, wantErr: "--camera-secret-file"},
	}
	for _, c := range cases {
		var f cameraFlags
		fs := flag.NewFlagSet("agent", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		f.register(fs)
		if err := fs.Parse(c.args); err != nil {
			t.Fatal(err)
		}
		e := &env{getenv: func(k string) string { return c.env[k] }, stdout: io.Discard, stderr: io.Discard}
		b, err := f.bookmarker(e, parcelguard.SystemClock{})
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%v: err = %v, want %q", c.args, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%v: %v", c.args, err)
			continue
		}
		switch c.kind {
		case "":
			if b != nil {
				t.Errorf("%v: hook %T without --camera", c.args, b)
			}
		case "frigate":
			if _, ok := b.(*camera.Frigate); !ok {
				t.Errorf("%v: %T", c.args, b)
			}
		case "webhook":
			if _, ok := b.(*camera.Webhook); !ok {
				t.Errorf("%v: %T", c.args, b)
			}
		}
	}
}
