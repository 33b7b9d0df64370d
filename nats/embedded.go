package nats

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// EmbeddedOptions configure StartEmbedded.
type EmbeddedOptions struct {
	// DataDir holds the configuration file and JetStream's store (under
	// DataDir/nats). Required.
	DataDir string
	// Port is the client port on 127.0.0.1; 0 picks a free port. It never
	// defaults to 4222, so serve does not collide with a NATS server
	// already running on the machine.
	Port int
	// MQTT enables the MQTT 3.1.1 listener; MQTTPort 0 picks a free port.
	MQTT     bool
	MQTTPort int
	// Lockers are the locker users known at start; AddLocker adds more.
	Lockers []User
	// Cloud is the cloud user; zero means generate one (see
	// Embedded.CloudCredentials).
	Cloud User
	// ServerName defaults to "parcelguard".
	ServerName string
}

// Embedded is an in-process NATS server with JetStream.
type Embedded struct {
	srv   *server.Server
	path  string
	cloud Credentials

	mu  sync.Mutex
	cfg ServerConfig
}

// StartEmbedded renders the configuration into DataDir/nats/nats.conf and
// starts a server from it, listening on loopback only.
func StartEmbedded(o EmbeddedOptions) (*Embedded, error) {
	if o.DataDir == "" {
		return nil, errors.New("start embedded nats: data dir is required")
	}
	dir := filepath.Join(o.DataDir, "nats")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("start embedded nats: %w", err)
	}
	e := &Embedded{path: filepath.Join(dir, "nats.conf")}
	if o.Cloud.Name == "" {
		c, u, err := CloudCredentials()
		if err != nil {
			return nil, fmt.Errorf("start embedded nats: %w", err)
		}
		o.Cloud, e.cloud = u, c
	}
	// Ports are chosen here, not with nats-server's -1, so the rendered file
	// names the real ports and a config reload does not see them change.
	port, err := portOrFree(o.Port)
	if err != nil {
		return nil, fmt.Errorf("start embedded nats: %w", err)
	}
	mqttPort := 0
	if o.MQTT {
		if mqttPort, err = portOrFree(o.MQTTPort); err != nil {
			return nil, fmt.Errorf("start embedded nats: %w", err)
		}
	}
	name := o.ServerName
	if name == "" {
		name = "parcelguard"
	}
	e.cfg = ServerConfig{Name: name, Host: "127.0.0.1", Port: port, StoreDir: filepath.Join(dir, "jetstream"),
		MQTTPort: mqttPort, Users: append([]User{o.Cloud}, o.Lockers...)}
	if err := e.writeConfig(); err != nil {
		return nil, fmt.Errorf("start embedded nats: %w", err)
	}
	opts, err := server.ProcessConfigFile(e.path)
	if err != nil {
		return nil, fmt.Errorf("start embedded nats: %w", err)
	}
	opts.NoSigs = true // the host program owns the signals
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("start embedded nats: %w", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		return nil, errors.New("start embedded nats: server not ready after 10s")
	}
	e.srv = srv
	return e, nil
}

// ClientURL returns the URL clients connect to.
func (e *Embedded) ClientURL() string { return e.srv.ClientURL() }

// MQTTAddr returns host:port of the MQTT listener, or "" if it is off.
func (e *Embedded) MQTTAddr() string {
	if e.cfg.MQTTPort == 0 {
		return ""
	}
	return net.JoinHostPort(e.cfg.Host, strconv.Itoa(e.cfg.MQTTPort))
}

// CloudCredentials returns the generated cloud credentials (zero if the
// options supplied the cloud user).
func (e *Embedded) CloudCredentials() Credentials { return e.cloud }

// AddLocker adds or replaces a locker user and reloads the configuration;
// existing connections stay up.
func (e *Embedded) AddLocker(u User) error {
	if err := checkLockerID(u.LockerID); err != nil {
		return fmt.Errorf("add locker: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	users := e.cfg.Users[:0:0]
	for _, old := range e.cfg.Users {
		if old.Name != u.Name {
			users = append(users, old)
		}
	}
	e.cfg.Users = append(users, u)
	if err := e.writeConfig(); err != nil {
		return fmt.Errorf("add locker: %w", err)
	}
	if err := e.srv.Reload(); err != nil {
		return fmt.Errorf("add locker: reload: %w", err)
	}
	return nil
}

// Shutdown stops the server and waits for it.
func (e *Embedded) Shutdown() {
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
}

// writeConfig writes the file with mode 0600: it holds password hashes.
func (e *Embedded) writeConfig() error {
	b, err := e.cfg.Render()
	if err != nil {
		return err
	}
	if err := os.WriteFile(e.path, b, 0o600); err != nil {
		return fmt.Errorf("write nats config: %w", err)
	}
	return nil
}

// portOrFree returns p, or a free loopback port when p is 0.
func portOrFree(p int) (int, error) {
	if p != 0 {
		return p, nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
