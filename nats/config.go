package nats

import (
	"bytes"
	"fmt"
	"strconv"
)

// ServerConfig is everything the server configuration file says. The
// embedded server and an external nats-server run the same rendered file,
// so the permissions tested against one are the permissions of the other.
type ServerConfig struct {
	// Name is the server name; MQTT requires one.
	Name string
	Host string
	Port int
	// StoreDir is where JetStream keeps its files; empty leaves it to the
	// command line (nats-server -sd).
	StoreDir string
	// MQTTPort enables the MQTT 3.1.1 listener on Host when non-zero.
	MQTTPort int
	// Users are the cloud user and one user per locker.
	Users []User
}

// Render returns the server configuration in nats-server's format.
func (c ServerConfig) Render() ([]byte, error) {
	var b bytes.Buffer
	q := strconv.Quote // quoted, so the '$' of a bcrypt hash is not a variable
	fmt.Fprintf(&b, "server_name: %s\nlisten: %s\n", q(c.Name), q(c.Host+":"+strconv.Itoa(c.Port)))
	if c.StoreDir == "" {
		b.WriteString("jetstream: enabled\n") // store dir from the command line (-sd)
	} else {
		fmt.Fprintf(&b, "jetstream {\n  store_dir: %s\n}\n", q(c.StoreDir))
	}
	if c.MQTTPort != 0 {
		fmt.Fprintf(&b, "mqtt {\n  host: %s\n  port: %d\n}\n", q(c.Host), c.MQTTPort)
	}
	acc, err := c.RenderAccounts()
	if err != nil {
		return nil, err
	}
	b.Write(acc)
	return b.Bytes(), nil
}

// RenderAccounts returns only the accounts block (the users and their
// permissions), for an operator's own server configuration to include
// ("include accounts.conf") and reload when lockers are provisioned.
func (c ServerConfig) RenderAccounts() ([]byte, error) {
	var b bytes.Buffer
	q := strconv.Quote
	fmt.Fprintf(&b, "accounts {\n  %s {\n    jetstream: enabled\n    users: [\n", Account)
	for _, u := range c.Users {
		if u.LockerID != "" {
			if err := checkLockerID(u.LockerID); err != nil {
				return nil, fmt.Errorf("render server config: %w", err)
			}
		}
		fmt.Fprintf(&b, "      {user: %s, password: %s", q(u.Name), q(u.PasswordHash))
		if u.LockerID != "" {
			pub, sub := lockerPermissions(u.LockerID)
			fmt.Fprintf(&b, ", permissions: {publish: {allow: %s}, subscribe: {allow: %s}}", list(pub), list(sub))
		}
		b.WriteString("}\n")
	}
	b.WriteString("    ]\n  }\n}\n")
	return b.Bytes(), nil
}

// lockerPermissions returns the subjects a locker may publish and subscribe
// to. Everything not listed is denied. A locker can publish its own events,
// pull from and ack its own durable consumer, and receive on its own inbox;
// it cannot create or change consumers, so it cannot widen its filter.
func lockerPermissions(id string) (pub, sub []string) {
	d := LockerDurable(id)
	pub = []string{
		"pg.locker." + id + ".events.>",
		"$JS.API.CONSUMER.INFO." + CommandsStream + "." + d,
		"$JS.API.CONSUMER.MSG.NEXT." + CommandsStream + "." + d,
		// Acks: the classic reply subject and the newer one with domain
		// and account hash tokens.
		"$JS.ACK." + CommandsStream + "." + d + ".>",
		"$JS.ACK.*.*." + CommandsStream + "." + d + ".>",
	}
	sub = []string{InboxPrefix(id) + ".>", CommandSubject(id)}
	return pub, sub
}

func list(s []string) string {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, v := range s {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(v))
	}
	b.WriteByte(']')
	return b.String()
}
