package nats

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard/devicemsg"
)

// testEnv is a running server with a cloud user and lockers "la" and "lb".
type testEnv struct {
	url     string
	cloud   Credentials
	lockers map[string]Credentials
	mqtt    string
}

var testLockers = []string{"la", "lb"}

// forEachServer runs fn against the embedded server and against a real
// nats-server process configured from the same rendered file.
func forEachServer(t *testing.T, fn func(t *testing.T, env testEnv)) {
	t.Run("Embedded", func(t *testing.T) { fn(t, startEmbedded(t, false)) })
	t.Run("External", func(t *testing.T) { fn(t, startExternal(t)) })
}

func lockerUsers(t *testing.T) (map[string]Credentials, []User) {
	t.Helper()
	creds := map[string]Credentials{}
	var users []User
	for _, id := range testLockers {
		c, u, err := LockerCredentials(id)
		if err != nil {
			t.Fatal(err)
		}
		creds[id] = c
		users = append(users, u)
	}
	return creds, users
}

func startEmbedded(t *testing.T, mqtt bool) testEnv {
	t.Helper()
	creds, users := lockerUsers(t)
	e, err := StartEmbedded(EmbeddedOptions{DataDir: t.TempDir(), Lockers: users, MQTT: mqtt})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Shutdown)
	return testEnv{url: e.ClientURL(), cloud: e.CloudCredentials(), lockers: creds, mqtt: e.MQTTAddr()}
}

// startExternal starts the nats-server binary with a generated config.
func startExternal(t *testing.T) testEnv {
	t.Helper()
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		bin = "/usr/sbin/nats-server"
		if _, err := os.Stat(bin); err != nil {
			t.Fatal("nats-server binary not found: run scripts/install-test-deps.sh (Debian package nats-server)")
		}
	}
	creds, users := lockerUsers(t)
	cloud, cu, err := CloudCredentials()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	port := freePort(t)
	cfg := ServerConfig{Name: "pg-test", Host: "127.0.0.1", Port: port, Users: append([]User{cu}, users...)}
	b, err := cfg.Render()
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "nats.conf")
	if err := os.WriteFile(conf, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", conf, "-js", "-a", "127.0.0.1", "-p", strconv.Itoa(port), "-sd", filepath.Join(dir, "js"))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nats-server did not listen on %s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return testEnv{url: "nats://" + addr, cloud: cloud, lockers: creds}
}

func freePort(t *testing.T) int {
	t.Helper()
	p, err := portOrFree(0)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func connectCloud(t *testing.T, env testEnv, durable string) *Cloud {
	t.Helper()
	return connectCloudOpts(t, env, CloudOptions{EventsDurable: durable})
}

// connectCloudOpts connects a cloud with options o and creates the test
// lockers' command consumers.
func connectCloudOpts(t *testing.T, env testEnv, o CloudOptions) *Cloud {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Connect(ctx, env.url, env.cloud, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	for _, id := range testLockers {
		if err := c.EnsureLocker(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func connectLocker(t *testing.T, env testEnv, id string) *Locker {
	t.Helper()
	l, err := ConnectLocker(env.url, id, env.lockers[id], nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return l
}

var evSeq struct {
	sync.Mutex
	n int
}

func newEvent(lockerID string, kind devicemsg.EventKind) devicemsg.Event {
	evSeq.Lock()
	defer evSeq.Unlock()
	evSeq.n++
	return devicemsg.Event{ID: fmt.Sprintf("evt_%06d_%d", evSeq.n, time.Now().UnixNano()), LockerID: lockerID, Seq: uint64(evSeq.n),
		At: time.Now().UTC(), Kind: kind, Compartment: "A1"}
}

// eventually polls cond until it holds or 25 s pass (an old nats-server
// redelivers a command lost to a stale pull request only after AckWait).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(25 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// runBg runs fn in the background until the test ends.
func runBg(t *testing.T, fn func(ctx context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := fn(ctx); err != nil {
			t.Errorf("background: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
}
