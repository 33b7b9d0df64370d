package sim

import "encoding/binary"

// shortID holds an id inline in 19 bytes: a parcelguard id (a 3-letter
// prefix, "_" and 26 characters of Crockford base 32, 30 bytes as text) as
// its prefix in two bytes and its 128-bit value, anything else of up to
// maxIDLen bytes as it is.
type shortID struct {
	m byte // 0: empty; idForm: a parcelguard id; rawForm+n: n raw bytes
	b [18]byte
}

const (
	idForm  = 1
	rawForm = 2
	// maxIDLen is the longest id a shortID holds other than a
	// parcelguard id.
	maxIDLen = 18
)

// crockford is parcelguard's id alphabet (parcelguard/id.go).
const crockford = "0123456789abcdefghjkmnpqrstvwxyz"

var crockVal = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := range len(crockford) {
		t[crockford[i]] = int8(i)
	}
	return t
}()

// packID stores s; it reports false (and stores nothing) if s can be
// kept neither as a parcelguard id nor as it is.
func packID(s string) (shortID, bool) {
	var x shortID
	if hi, lo, ok := parseID(s); ok {
		x.m = idForm
		binary.BigEndian.PutUint16(x.b[:2], uint16(s[0]-'a')<<10|uint16(s[1]-'a')<<5|uint16(s[2]-'a'))
		binary.BigEndian.PutUint64(x.b[2:10], hi)
		binary.BigEndian.PutUint64(x.b[10:], lo)
		return x, true
	}
	if len(s) > maxIDLen {
		return x, false
	}
	if s != "" {
		x.m = rawForm + byte(copy(x.b[:], s))
	}
	return x, true
}

// parseID decodes a parcelguard id "ppp_" + 26 base-32 characters of at
// most 128 bits.
func parseID(s string) (hi, lo uint64, ok bool) {
	if len(s) != 30 || s[3] != '_' {
		return 0, 0, false
	}
	for i := range 3 {
		if s[i] < 'a' || s[i] > 'z' {
			return 0, 0, false
		}
	}
	for i := 4; i < 30; i++ {
		v := crockVal[s[i]]
		if v < 0 || hi>>59 != 0 {
			return 0, 0, false
		}
		hi, lo = hi<<5|lo>>59, lo<<5|uint64(v)
	}
	return hi, lo, true
}

// String returns the id.
func (x shortID) String() string {
	switch {
	case x.m == 0:
		return ""
	case x.m >= rawForm:
		return string(x.b[:x.m-rawForm])
	}
	p := binary.BigEndian.Uint16(x.b[:2])
	hi, lo := binary.BigEndian.Uint64(x.b[2:10]), binary.BigEndian.Uint64(x.b[10:])
	var out [30]byte
	out[0], out[1], out[2], out[3] = 'a'+byte(p>>10&31), 'a'+byte(p>>5&31), 'a'+byte(p&31), '_'
	for i := 29; i >= 4; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}
