package main

import (
	"flag"
	"fmt"
	"time"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/camera"
)

// cameraFlags configure a locker site's video hook (SECURITY.md 17). The
// agent registers them; without --camera no bookmarks are made and door
// events are stored unrecorded. The secret comes from a file or
// PARCELGUARD_CAMERA_SECRET, never from the command line.
type cameraFlags struct {
	spec, secretFile string
	timeout          time.Duration
	attempts         int
}

func (f *cameraFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.spec, "camera", "", "video hook for door-event bookmarks: frigate+http://HOST:5000 or webhook+https://HOST/PATH; empty: none")
	fs.StringVar(&f.secretFile, "camera-secret-file", "", "file (mode 0600) with the webhook signing secret or the Frigate bearer token; or set PARCELGUARD_CAMERA_SECRET")
	fs.DurationVar(&f.timeout, "camera-timeout", camera.DefaultTimeout, "bound on one bookmark request")
	fs.IntVar(&f.attempts, "camera-attempts", camera.DefaultAttempts, fmt.Sprintf("tries per bookmark before the event is flagged unrecorded (1-%d)", camera.MaxAttempts))
}

// bookmarker builds the configured hook; nil (and no error) when --camera
// is empty.
func (f *cameraFlags) bookmarker(e *env, clock parcelguard.Clock) (camera.Bookmarker, error) {
	if f.spec == "" {
		return nil, nil
	}
	s, err := secret(e, f.secretFile, "PARCELGUARD_CAMERA_SECRET")
	if err != nil {
		return nil, fmt.Errorf("--camera-secret-file: %w", err)
	}
	cfg, err := camera.ParseConfig(f.spec, s)
	if err != nil {
		return nil, fmt.Errorf("--camera: %w", err)
	}
	if f.attempts < 1 || f.attempts > camera.MaxAttempts {
		return nil, fmt.Errorf("--camera-attempts: must be 1 to %d", camera.MaxAttempts)
	}
	if f.timeout <= 0 {
		return nil, fmt.Errorf("--camera-timeout: must be positive")
	}
	cfg.Timeout, cfg.Attempts = f.timeout, f.attempts
	return camera.New(cfg, clock, nil)
}
