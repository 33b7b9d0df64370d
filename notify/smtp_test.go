package notify_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"image/png"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/makiuchi-d/gozxing"
	gozxingqr "github.com/makiuchi-d/gozxing/qrcode"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/code"
	"github.com/parcelguard/parcelguard/notify"
)

// received is one message the test SMTP server accepted.
type received struct {
	from  string
	to    []string
	user  string
	tls   bool
	data  []byte
	msgID string
}

// smtpServer is an in-process SMTP server (github.com/emersion/go-smtp)
// with STARTTLS or implicit TLS and AUTH PLAIN; it refuses recipients at
// "nobody@" permanently.
type smtpServer struct {
	addr string
	pool *x509.CertPool
	mu   sync.Mutex
	got  []received
}

func startSMTP(t *testing.T, implicitTLS bool) *smtpServer {
	t.Helper()
	cert, pool := selfSigned(t)
	s := &smtpServer{pool: pool}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		_, isTLS := c.TLSConnectionState()
		return &session{srv: s, tls: isTLS, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if implicitTLS {
		l = tls.NewListener(l, srv.TLSConfig)
	}
	s.addr = l.Addr().String()
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return s
}

func (s *smtpServer) hostPort(t *testing.T) (string, int) {
	host, port, err := net.SplitHostPort(s.addr)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	return host, n
}

func (s *smtpServer) messages() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.got...)
}

type session struct {
	srv  *smtpServer
	conn *smtp.Conn
	tls  bool
	cur  received
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != "pg" || password != "s3cret-smtp" {
			return errors.New("bad credentials")
		}
		s.cur.user = username
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.cur.user == "" {
		return smtp.ErrAuthRequired
	}
	s.cur.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if strings.HasPrefix(to, "nobody@") {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}
	s.cur.to = append(s.cur.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.cur.data, s.cur.tls = b, isTLS
	s.srv.mu.Lock()
	s.srv.got = append(s.srv.got, s.cur)
	s.srv.mu.Unlock()
	return nil
}

func (s *session) Reset()        { s.cur = received{user: s.cur.user} }
func (s *session) Logout() error { return nil }

// selfSigned makes a certificate for 127.0.0.1 and a pool trusting it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// mimePart is a leaf of a parsed e-mail, its body decoded.
type mimePart struct {
	contentType string
	header      map[string][]string
	body        []byte
}

// leaves walks a MIME entity and returns its leaf parts.
func leaves(t *testing.T, contentType string, header map[string][]string, body io.Reader) []mimePart {
	t.Helper()
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		var out []mimePart
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				return out
			}
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, leaves(t, p.Header.Get("Content-Type"), p.Header, p)...)
		}
	}
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	if strings.EqualFold(mail.Header(header).Get("Content-Transfer-Encoding"), "base64") {
		b, err = io.ReadAll(base64.NewDecoder(base64.StdEncoding, bytes.NewReader(b)))
		if err != nil {
			t.Fatal(err)
		}
	}
	return []mimePart{{contentType: mt, header: header, body: b}}
}

// Ensure a deposit notice reaches a real SMTP server over STARTTLS and over
// implicit TLS, authenticated, with the right envelope, a subject without
// the code, plain-text and HTML bodies with the PIN and the never-ask
// line, the Message-ID made from the idempotency key, and an inline QR
// image that decodes to a token the locker accepts for this grant.
func TestSMTP(t *testing.T) {
	for _, security := range []string{"starttls", "tls"} {
		t.Run(security, func(t *testing.T) {
			srv := startSMTP(t, security == "tls")
			f := newFixture(t, 2)
			p := f.deposit("PG-1001", ada)
			pin, g, err := f.svc.PickupCode(f.ctx, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			host, portN := srv.hostPort(t)
			d := f.dispatcher(notify.Config{Email: &notify.SMTPConfig{Host: host, Port: portN, Security: security,
				Username: "pg", Password: "s3cret-smtp", From: "parcelguard <noreply@parcelguard.example>",
				TLS: &tls.Config{RootCAs: srv.pool}}}, nil)
			if n := f.dispatch(d); n != 3 {
				t.Fatalf("dispatched %d messages, want 3 (e-mail, SMS, webhook)", n)
			}
			for _, m := range f.messages(parcelguard.MessageFilter{}) {
				if m.State != parcelguard.MessageSent {
					t.Fatalf("message %s (%s) is %s: %s", m.ID, m.Channel, m.State, m.LastError)
				}
			}
			got := srv.messages()
			if len(got) != 1 {
				t.Fatalf("server got %d messages, want 1", len(got))
			}
			rcv := got[0]
			if rcv.from != "noreply@parcelguard.example" || len(rcv.to) != 1 || rcv.to[0] != "ada@example.com" ||
				rcv.user != "pg" || !rcv.tls {
				t.Fatalf("envelope from=%s to=%v user=%q tls=%v", rcv.from, rcv.to, rcv.user, rcv.tls)
			}
			msg, err := mail.ReadMessage(bytes.NewReader(rcv.data))
			if err != nil {
				t.Fatal(err)
			}
			subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
			if err != nil {
				t.Fatal(err)
			}
			if subject != "Ihr Paket PG-1001 liegt für Sie bereit: Main Station" || strings.Contains(subject, pin) {
				t.Errorf("subject %q", subject)
			}
			key := "deposit:" + g.ID + ":email"
			if got, want := msg.Header.Get("Message-Id"), "<"+notify.MessageID(key, "parcelguard.example")+">"; got != want {
				t.Errorf("Message-ID %q, want %q", got, want)
			}
			if got := msg.Header.Get(notify.IdempotencyHeader); got != key {
				t.Errorf("idempotency header %q, want %q", got, key)
			}
			if to := msg.Header.Get("To"); !strings.Contains(to, "ada@example.com") {
				t.Errorf("To: %q", to)
			}
			parts := leaves(t, msg.Header.Get("Content-Type"), msg.Header, msg.Body)
			var text, html string
			var img *mimePart
			for i, part := range parts {
				switch part.contentType {
				case "text/plain":
					text = string(part.body)
				case "text/html":
					html = string(part.body)
				case "image/png":
					img = &parts[i]
				}
			}
			for name, body := range map[string]string{"text": text, "html": html} {
				for _, want := range []string{pin, "Niemand von parcelguard oder Fast Parcel wird Sie jemals nach diesem Code fragen",
					"Main Station", "Donnerstag, 26. November 2026, 10:00 Uhr CET", "openstreetmap.org/?mlat=48.140000"} {
					if !strings.Contains(body, want) {
						t.Errorf("%s body lacks %q:\n%s", name, want, body)
					}
				}
			}
			if img == nil {
				t.Fatalf("no inline PNG among %d parts", len(parts))
			}
			cid := strings.Trim(mail.Header(img.header).Get("Content-Id"), "<>")
			if !strings.Contains(html, `src="cid:`+cid+`"`) || !strings.HasPrefix(mail.Header(img.header).Get("Content-Disposition"), "inline") {
				t.Errorf("image %q is not the inline image the HTML shows", cid)
			}
			token := decodeQR(t, img.body)
			tok, err := code.NewTokenVerifier(f.keys.PublicKeys()).Verify(token, f.site.ID, f.clock.Now())
			if err != nil {
				t.Fatalf("QR token: %v", err)
			}
			if tok.Subject != g.ID || tok.Purpose != "pickup" || !tok.Expiry.Equal(g.ExpiresAt.Truncate(time.Second)) {
				t.Errorf("QR token %+v, want grant %s", tok, g.ID)
			}
			// The QR code really opens the compartment.
			if res, err := f.svc.PickupQR(f.ctx, f.kiosk, f.site.ID, token); err != nil || res.ParcelID != p.ID {
				t.Fatalf("pickup with the mailed QR code: %+v, %v", res, err)
			}
		})
	}
}

// Ensure a recipient the server refuses permanently (550) makes the
// message dead at once, with an operator alarm in the locker's audit
// stream, and no retry.
func TestSMTPPermanentFailure(t *testing.T) {
	srv := startSMTP(t, false)
	f := newFixture(t, 1)
	r := ada
	r.Email = "nobody@example.com"
	p := f.deposit("PG-1002", r)
	host, portN := srv.hostPort(t)
	d := f.dispatcher(notify.Config{Email: &notify.SMTPConfig{Host: host, Port: portN, Username: "pg", Password: "s3cret-smtp",
		From: "noreply@parcelguard.example", TLS: &tls.Config{RootCAs: srv.pool}}}, nil)
	f.dispatch(d)
	m := f.messages(parcelguard.MessageFilter{Channel: parcelguard.ChannelEmail})[0]
	if m.State != parcelguard.MessageDead || !strings.Contains(m.LastError, "550") {
		t.Fatalf("message %s: %s", m.State, m.LastError)
	}
	alarms := alarmsOf(t, f, p.ID)
	if len(alarms) != 1 || alarms[0].Data["message_id"] != m.ID || alarms[0].Stream != parcelguard.SiteStream(f.site.ID) {
		t.Fatalf("alarms %+v", alarms)
	}
}

// alarmsOf returns the notification alarms about a parcel.
func alarmsOf(t *testing.T, f *fixture, parcelID string) (out []*parcelguard.Event) {
	t.Helper()
	err := f.db.View(f.ctx, func(tx parcelguard.Tx) error {
		es, err := tx.Events(f.ctx, parcelguard.EventFilter{ParcelID: parcelID})
		for _, e := range es {
			if e.Kind == parcelguard.EventNotificationDead {
				out = append(out, e)
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// decodeQR reads the QR code of a PNG with a pure-Go decoder.
func decodeQR(t *testing.T, b []byte) string {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("PNG does not decode: %v", err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	// A generated, upright code: PURE_BARCODE skips the camera heuristics.
	res, err := gozxingqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]interface{}{gozxing.DecodeHintType_PURE_BARCODE: true})
	if err != nil {
		t.Fatalf("no QR code in the image: %v", err)
	}
	return res.GetText()
}
