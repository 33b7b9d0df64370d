package postgres

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
)

// Ensure chainParts splits ChainHash's encoding exactly around the seq, so
// that the database's sha256 over prev, mid, seq and tail is the audit
// chain's hash, for events with and without data and optional fields.
func TestChainParts(t *testing.T) {
	for _, c := range []struct {
		prev []byte
		e    parcelguard.Event
	}{
		{nil, parcelguard.Event{ID: "evt-1", Stream: "site:a", Seq: 1, At: t0, Kind: parcelguard.EventDoorOpened}},
		{bytes.Repeat([]byte{7}, 32), parcelguard.Event{ID: "evt-2", Stream: "system", Seq: 1 << 40,
			At: t0.In(time.FixedZone("x", 3600)), Kind: parcelguard.EventParcelDeposited, SiteID: "site-1",
			CompartmentID: "cmp-1", ParcelID: "par-1", GrantID: "grt-1", Actor: "courier:c/pgk_1",
			Data: map[string]string{"z": "last", "a": "zażółć", "": "empty key"}}},
	} {
		mid, tail := chainParts(&c.e)
		var seq [8]byte
		binary.BigEndian.PutUint64(seq[:], uint64(c.e.Seq))
		h := sha256.New()
		h.Write(binary.BigEndian.AppendUint64(nil, uint64(len(c.prev))))
		h.Write(c.prev)
		h.Write(mid)
		h.Write(seq[:])
		h.Write(tail)
		if got, want := h.Sum(nil), parcelguard.ChainHash(c.prev, &c.e); !bytes.Equal(got, want) {
			t.Errorf("event %s: hash from parts %x, ChainHash %x", c.e.ID, got, want)
		}
	}
}
