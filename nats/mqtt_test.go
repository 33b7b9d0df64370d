package nats

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard/devicemsg"
)

// mqttClient is a minimal MQTT 3.1.1 client: CONNECT, PUBLISH at QoS 1 and
// its PUBACK. Enough to prove an MQTT-only locker can use the contract.
type mqttClient struct {
	conn net.Conn
	r    *bufio.Reader
	id   uint16
}

func mqttConnect(addr, clientID, user, password string) (*mqttClient, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	var body []byte
	body = mqttString(body, "MQTT")
	body = append(body, 4, 0xC2, 0, 60) // level 4; user, password, clean session; keep-alive 60 s
	body = mqttString(body, clientID)
	body = mqttString(body, user)
	body = mqttString(body, password)
	c := &mqttClient{conn: conn, r: bufio.NewReader(conn)}
	if err := c.write(0x10, body); err != nil {
		conn.Close()
		return nil, err
	}
	typ, resp, err := c.read()
	if err != nil {
		conn.Close()
		return nil, err
	}
	if typ != 0x20 || len(resp) != 2 || resp[1] != 0 {
		conn.Close()
		return nil, fmt.Errorf("connack %#x %v: refused", typ, resp)
	}
	return c, nil
}

// publish sends payload to topic at QoS 1 and waits for the PUBACK.
func (c *mqttClient) publish(topic string, payload []byte) error {
	c.id++
	body := mqttString(nil, topic)
	body = binary.BigEndian.AppendUint16(body, c.id)
	body = append(body, payload...)
	if err := c.write(0x32, body); err != nil {
		return err
	}
	typ, resp, err := c.read()
	if err != nil {
		return fmt.Errorf("await puback: %w", err)
	}
	if typ != 0x40 || len(resp) != 2 || binary.BigEndian.Uint16(resp) != c.id {
		return fmt.Errorf("got packet %#x %v, want puback %d", typ, resp, c.id)
	}
	return nil
}

func (c *mqttClient) close() {
	_ = c.write(0xE0, nil) // DISCONNECT
	c.conn.Close()
}

func (c *mqttClient) write(header byte, body []byte) error {
	pkt := []byte{header}
	for n := len(body); ; { // remaining length, 7 bits per byte
		b := byte(n % 128)
		n /= 128
		if n > 0 {
			b |= 0x80
		}
		pkt = append(pkt, b)
		if n == 0 {
			break
		}
	}
	_, err := c.conn.Write(append(pkt, body...))
	return err
}

func (c *mqttClient) read() (typ byte, body []byte, err error) {
	h, err := c.r.ReadByte()
	if err != nil {
		return 0, nil, err
	}
	n, mul := 0, 1
	for i := 0; i < 4; i++ {
		b, err := c.r.ReadByte()
		if err != nil {
			return 0, nil, err
		}
		n += int(b&0x7f) * mul
		mul *= 128
		if b&0x80 == 0 {
			break
		}
	}
	body = make([]byte, n)
	_, err = io.ReadFull(c.r, body)
	return h & 0xF0, body, err
}

func mqttString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

// Ensure an MQTT 3.1.1 locker, added while the server runs, can publish an
// event the cloud consumes, and cannot publish as another locker.
func TestMQTTLockerEvent(t *testing.T) {
	dir := t.TempDir()
	creds, user, err := LockerCredentials("lm")
	if err != nil {
		t.Fatal(err)
	}
	e, err := StartEmbedded(EmbeddedOptions{DataDir: dir, MQTT: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Shutdown)
	if err := e.AddLocker(user); err != nil {
		t.Fatal(err)
	}
	cloud, err := Connect(context.Background(), e.ClientURL(), e.CloudCredentials(), CloudOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cloud.Close)
	got := make(chan devicemsg.Event, 4)
	runBg(t, func(ctx context.Context) error {
		return cloud.ConsumeEvents(ctx, func(_ context.Context, ev devicemsg.Event) error { got <- ev; return nil })
	})

	c, err := mqttConnect(e.MQTTAddr(), "locker-lm", creds.User, creds.Password)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	ev := newEvent("lm", devicemsg.AlarmForcedOpen)
	b, _ := devicemsg.EncodeEvent(ev)
	topic := strings.ReplaceAll(EventSubject("lm", ev.Kind), ".", "/")
	if err := c.publish(topic, b); err != nil {
		t.Fatal(err)
	}
	select {
	case g := <-got:
		if g.ID != ev.ID || g.Kind != devicemsg.AlarmForcedOpen {
			t.Fatalf("cloud got %+v", g)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("cloud did not receive the MQTT event")
	}

	// Wrong password is refused at CONNECT.
	if _, err := mqttConnect(e.MQTTAddr(), "x", creds.User, "wrong"); err == nil {
		t.Error("MQTT connect with a wrong password succeeded")
	}
	// Publishing to another locker's topic is refused (the server drops the
	// connection or the message); the cloud must not see it.
	c2, err := mqttConnect(e.MQTTAddr(), "locker-lm-2", creds.User, creds.Password)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.close()
	spoof := newEvent("la", devicemsg.EventPickup)
	sb, _ := devicemsg.EncodeEvent(spoof)
	_ = c2.publish(strings.ReplaceAll(EventSubject("la", spoof.Kind), ".", "/"), sb)
	select {
	case g := <-got:
		t.Fatalf("cloud got spoofed event %+v", g)
	case <-time.After(500 * time.Millisecond):
	}
}
