package sqlcol

import (
	"testing"
	"time"
)

// Ensure every encoding round-trips, including the zero and empty values.
func TestRoundTrip(t *testing.T) {
	for _, at := range []time.Time{{}, time.Date(2026, 11, 21, 8, 0, 0, 123456789, time.UTC)} {
		if got := FromNanos(Nanos(at)); !got.Equal(at) || got.IsZero() != at.IsZero() {
			t.Errorf("time %v round-trips to %v", at, got)
		}
	}
	if NullString("") != nil || NullString("x") != "x" || NullBytes(nil) != nil || BytesOrNil([]byte{}) != nil {
		t.Error("empty values must map to NULL and back to nil")
	}
	if m, err := DecodeData("{}"); m != nil || err != nil {
		t.Errorf("{} decodes to %v, %v", m, err)
	}
	if m, err := DecodeData(`{"a":"b"}`); err != nil || m["a"] != "b" {
		t.Errorf("decode: %v %v", m, err)
	}
	if _, err := DecodeData("not json"); err == nil {
		t.Error("bad JSON accepted")
	}
}
