package code

import (
	"encoding/base32"
	"encoding/binary"
	"errors"
	"time"
)

// Layout of a token before base32:
//
//	version byte (1)
//	key id, issuer, audience, subject, purpose: uvarint length | bytes
//	not-before, expiry: uvarint unix seconds
//	id: 16 bytes
//	signature: 64 bytes Ed25519 over everything before it
//
// Binary plus base32 keeps a typical token under 300 characters of the QR
// alphanumeric set (upper case letters and digits), where JSON or JWT would
// force the less dense byte mode.
const (
	tokenVersion  byte = 1
	signatureSize      = 64
	maxKeyIDLen        = 16
)

// tokenEncoding is RFC 4648 base32, upper case, without padding.
var tokenEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// maxTokenChars is the base32 length of MaxTokenBytes; longer input is
// rejected before decoding anything.
var maxTokenChars = tokenEncoding.EncodedLen(MaxTokenBytes)

// appendBody appends the signed part of the token.
func appendBody(b []byte, keyID string, t *Token) []byte {
	b = append(b, tokenVersion)
	for _, s := range []string{keyID, t.Issuer, t.Audience, t.Subject, t.Purpose} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendUvarint(b, uint64(t.NotBefore.Unix()))
	b = binary.AppendUvarint(b, uint64(t.Expiry.Unix()))
	return append(b, t.ID[:]...)
}

// errTrailing and errShort are the parser's internal reasons; callers see
// them wrapped in ErrTokenMalformed.
var (
	errShort    = errors.New("truncated")
	errTrailing = errors.New("trailing bytes")
)

// decodeToken splits an encoded token into its parts without checking the
// signature. It never panics and rejects every non-canonical form, so a
// token has exactly one encoding.
func decodeToken(s string) (keyID string, t Token, body, sig []byte, err error) {
	if len(s) > maxTokenChars {
		return "", Token{}, nil, nil, errors.New("too long")
	}
	raw, err := tokenEncoding.DecodeString(s)
	if err != nil {
		return "", Token{}, nil, nil, err
	}
	// The decoder ignores newlines and unused low bits of the last
	// character; re-encoding catches both.
	if tokenEncoding.EncodeToString(raw) != s {
		return "", Token{}, nil, nil, errors.New("non-canonical base32")
	}
	r := reader{b: raw}
	if v := r.byte(); v != tokenVersion {
		return "", Token{}, nil, nil, errors.New("unknown version")
	}
	keyID = r.str(maxKeyIDLen)
	t.Issuer = r.str(MaxTokenField)
	t.Audience = r.str(MaxTokenField)
	t.Subject = r.str(MaxTokenField)
	t.Purpose = r.str(MaxTokenField)
	nbf, exp := r.uvarint(), r.uvarint()
	copy(t.ID[:], r.bytes(len(t.ID)))
	if r.err != nil {
		return "", Token{}, nil, nil, r.err
	}
	if nbf > maxUnix || exp > maxUnix {
		return "", Token{}, nil, nil, errors.New("time out of range")
	}
	t.NotBefore = time.Unix(int64(nbf), 0).UTC()
	t.Expiry = time.Unix(int64(exp), 0).UTC()
	body = raw[:r.off]
	sig = r.bytes(signatureSize)
	if r.err != nil {
		return "", Token{}, nil, nil, r.err
	}
	if r.off != len(raw) {
		return "", Token{}, nil, nil, errTrailing
	}
	if keyID == "" {
		return "", Token{}, nil, nil, errors.New("empty key id")
	}
	if err := t.validate(); err != nil {
		return "", Token{}, nil, nil, err
	}
	return keyID, t, body, sig, nil
}

// reader reads a token with bounds checks. After the first error every
// read returns a zero value, so the caller checks err once.
type reader struct {
	b   []byte
	off int
	err error
}

// bytes reads the next n bytes.
func (r *reader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b)-r.off {
		r.err = errShort
		return nil
	}
	v := r.b[r.off : r.off+n]
	r.off += n
	return v
}

// byte reads one byte.
func (r *reader) byte() byte {
	if v := r.bytes(1); v != nil {
		return v[0]
	}
	return 0
}

// uvarint reads a minimally encoded uvarint; overlong forms are rejected so
// that one value has one encoding.
func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		r.err = errors.New("bad varint")
		return 0
	}
	if n != len(binary.AppendUvarint(nil, v)) {
		r.err = errors.New("non-minimal varint")
		return 0
	}
	r.off += n
	return v
}

// str reads a length-prefixed string of at most max bytes.
func (r *reader) str(max int) string {
	n := r.uvarint()
	if r.err == nil && n > uint64(max) {
		r.err = errors.New("field too long")
		return ""
	}
	return string(r.bytes(int(n)))
}
