package main

// Helpers of the integration tests that run several `parcelguard serve`
// processes (the real binary) against one PostgreSQL database.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard/client"
	"github.com/parcelguard/parcelguard/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// buildBinary builds cmd/parcelguard into dir and returns its path.
func buildBinary(t *testing.T, dir string) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(dir, "parcelguard")
	cmd := exec.Command(goTool, "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// cleanEnv is the environment of a child process without PARCELGUARD_*
// settings of the caller, which would change what the flags say.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PARCELGUARD_") {
			env = append(env, kv)
		}
	}
	return env
}

// instance is one running `parcelguard serve` process.
type instance struct {
	name   string
	cmd    *exec.Cmd
	base   string
	out    *syncBuffer // stdout and stderr
	exited chan struct{}
}

// startServe starts `bin serve args...` and waits until it listens. The
// process is stopped (SIGTERM, then SIGKILL) when the test ends.
func startServe(t *testing.T, name, bin string, args ...string) *instance {
	t.Helper()
	in := &instance{name: name, out: &syncBuffer{}, exited: make(chan struct{})}
	in.cmd = exec.Command(bin, append([]string{"serve"}, args...)...)
	in.cmd.Stdout, in.cmd.Stderr = in.out, in.out
	in.cmd.Env = cleanEnv()
	if err := in.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		_ = in.cmd.Wait()
		close(in.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-in.exited:
			return
		default:
		}
		_ = in.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-in.exited:
		case <-time.After(15 * time.Second):
			_ = in.cmd.Process.Kill()
			<-in.exited
			t.Errorf("%s did not stop on SIGTERM", name)
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		if m := listening.FindStringSubmatch(in.out.String()); m != nil {
			in.base = m[1]
			return in
		}
		select {
		case <-in.exited:
			t.Fatalf("%s exited early:\n%s", name, in.out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not start listening:\n%s", name, in.out.String())
		}
	}
}

// kill ends the process with SIGKILL: no shutdown, no cleanup, as a
// crashed machine would. It may be called from any goroutine.
func (in *instance) kill(t *testing.T) {
	t.Helper()
	if err := in.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Errorf("kill %s: %v", in.name, err)
		return
	}
	<-in.exited
}

// fleet spreads API calls over several instances and fails over from one
// that does not answer to the next.
type fleet struct {
	inst    []*instance
	clients []*client.Client // one per instance, without a token
	down    []atomic.Bool

	failovers atomic.Int64 // calls repeated on another instance or with a new key
}

func newFleet(t *testing.T, inst ...*instance) *fleet {
	t.Helper()
	f := &fleet{inst: inst, down: make([]atomic.Bool, len(inst))}
	// Failover is the fleet's business, so the client tries each call once.
	hc := &http.Client{Timeout: 20 * time.Second}
	for _, in := range inst {
		c, err := client.New(in.base, client.WithHTTPClient(hc), client.WithRetry(client.RetryPolicy{MaxAttempts: 1}))
		if err != nil {
			t.Fatal(err)
		}
		f.clients = append(f.clients, c)
	}
	return f
}

// pick returns the i-th live instance's index, counting round the fleet.
func (f *fleet) pick(i int) int {
	n := len(f.inst)
	for k := range n {
		j := ((i+k)%n + n) % n
		if !f.down[j].Load() {
			return j
		}
	}
	return 0
}

// client returns a client of the i-th live instance with token.
func (f *fleet) client(i int, token string) *client.Client {
	return f.clients[f.pick(i)].WithToken(token)
}

// inUseGrace is how long a call keeps retrying an Idempotency-Key that
// another request holds before it concludes the holder died with its
// instance and sends the call under a new key.
const inUseGrace = 2 * time.Second

// do runs one state-changing call the way a careful API user does against
// several instances: it sends op with an Idempotency-Key to instance i;
// when that instance does not answer, answers 503, or 409 (the key in use,
// or a concurrent change), it asks settled (on another instance) whether
// the effect is already there, and otherwise sends op again on the next
// instance. Any other answer is returned as the call's error.
func (f *fleet) do(ctx context.Context, i int, token, what string, op func(c *client.Client, key client.CallOption) error,
	settled func(c *client.Client) (bool, error)) error {
	key := client.NewIdempotencyKey()
	var (
		last       error
		inUseSince time.Time
	)
	deadline := time.Now().Add(30 * time.Second)
	for attempt := 0; time.Now().Before(deadline); attempt++ {
		err := op(f.client(i+attempt, token), client.IdempotencyKey(key))
		if err == nil {
			return nil
		}
		last = err
		var pe *client.Error
		isProblem := errors.As(err, &pe)
		if isProblem && pe.Status != http.StatusServiceUnavailable && pe.Status != http.StatusConflict {
			return fmt.Errorf("%s: %w", what, err)
		}
		f.failovers.Add(1)
		if settled != nil {
			if ok, err := settled(f.client(i+attempt+1, token)); err == nil && ok {
				return nil
			}
		}
		if isProblem && pe.Code == "idempotency_key_in_use" {
			if inUseSince.IsZero() {
				inUseSince = time.Now()
			} else if time.Since(inUseSince) > inUseGrace {
				// A live holder would have answered by now: it died
				// before committing (settled says so), so start afresh.
				key, inUseSince = client.NewIdempotencyKey(), time.Time{}
			}
		} else {
			inUseSince = time.Time{}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s: gave up: %w", what, last)
}

// pinPattern finds the PIN in a deposit SMS.
var pinPattern = regexp.MustCompile(`code for this parcel only: (\d{6})`)

// mailboxPIN waits until the deposit SMS of parcel id is in the local
// mailbox, read through GET /v1/mailbox of any live instance, and returns
// the PIN in it, as the recipient would read it.
func (f *fleet) mailboxPIN(ctx context.Context, i int, token, parcelID string) (string, error) {
	deadline := time.Now().Add(30 * time.Second)
	for attempt := 0; time.Now().Before(deadline); attempt++ {
		text, err := f.mailboxText(ctx, f.pick(i+attempt), token, parcelID, "deposit", "sms")
		if err == nil && text != "" {
			m := pinPattern.FindStringSubmatch(text)
			if m == nil {
				return "", fmt.Errorf("deposit SMS of %s holds no PIN: %q", parcelID, text)
			}
			return m[1], nil
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return "", fmt.Errorf("no deposit SMS for parcel %s in the mailbox", parcelID)
}

// mailboxText returns the text of the parcel's mailbox message of kind on
// channel, "" if there is none yet.
func (f *fleet) mailboxText(ctx context.Context, inst int, token, parcelID, kind, channel string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.inst[inst].base+"/v1/mailbox?parcel_id="+url.QueryEscape(parcelID), nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET /v1/mailbox: %s", res.Status)
	}
	var page struct {
		Items []struct {
			Kind    string `json:"kind"`
			Channel string `json:"channel"`
			Text    string `json:"text"`
		} `json:"items"`
	}
	if err := json.NewDecoder(res.Body).Decode(&page); err != nil {
		return "", fmt.Errorf("GET /v1/mailbox: %w", err)
	}
	for _, m := range page.Items {
		if m.Kind == kind && m.Channel == channel {
			return m.Text, nil
		}
	}
	return "", nil
}

// counter counts named outcomes concurrently.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) add(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[name]++
}

func (c *counter) get(name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[name]
}

func (c *counter) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Sprint(c.n)
}
