package parcelguard

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"sort"
	"time"
)

// EventKind names what happened.
type EventKind string

// Event kinds. Every state change, attempt, door movement and admin action
// is one of these.
const (
	EventSiteCreated        EventKind = "site.created"
	EventCompartmentCreated EventKind = "compartment.created"
	EventCompartmentChanged EventKind = "compartment.changed"
	EventCarrierCreated     EventKind = "carrier.created"
	EventAPIKeyCreated      EventKind = "api_key.created"
	EventParcelAnnounced    EventKind = "parcel.announced"
	EventParcelReserved     EventKind = "parcel.reserved"
	EventParcelDeposited    EventKind = "parcel.deposited"
	EventParcelPickedUp     EventKind = "parcel.picked_up"
	EventParcelExpired      EventKind = "parcel.expired"
	EventParcelCollected    EventKind = "parcel.collected"
	EventParcelReturned     EventKind = "parcel.returned"
	EventParcelCancelled    EventKind = "parcel.cancelled"
	EventParcelRedirected   EventKind = "parcel.redirected"
	EventParcelReminded     EventKind = "parcel.reminded"
	EventPickupFailed       EventKind = "pickup.failed"
	EventGrantLocked        EventKind = "grant.locked"
	EventDoorOpened         EventKind = "door.opened"
	EventAlarmGuessing      EventKind = "alarm.guessing"
)

// SystemStream is the audit stream of events that belong to no site.
const SystemStream = "system"

// SiteStream returns the audit stream of a site. Each site has its own hash
// chain so that writers on different sites never wait for one another.
func SiteStream(siteID string) string { return "site:" + siteID }

// Event is one entry of an append-only, hash-chained audit stream.
type Event struct {
	ID     string
	Stream string
	// Seq numbers the events of a stream from 1 without gaps.
	Seq           int64
	At            time.Time
	Kind          EventKind
	SiteID        string
	CompartmentID string
	ParcelID      string
	GrantID       string
	// Actor says who acted: "carrier:ID", "courier:ID", "kiosk:SITE",
	// "system", "admin:KEYPREFIX".
	Actor string
	// Data holds event details; never a code, key or token.
	Data map[string]string
	// PrevHash is the Hash of the previous event of the stream (zero bytes
	// for the first one); Hash covers PrevHash and every field above.
	PrevHash []byte
	Hash     []byte
}

// ChainHash returns the hash that links e to prev: SHA-256 over prev and an
// unambiguous, length-prefixed encoding of every field of e but the hashes.
func ChainHash(prev []byte, e *Event) []byte {
	h := sha256.New()
	put := func(b []byte) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	put(prev)
	put([]byte(e.ID))
	put([]byte(e.Stream))
	var seq [8]byte
	binary.BigEndian.PutUint64(seq[:], uint64(e.Seq))
	put(seq[:])
	put([]byte(e.At.UTC().Format(time.RFC3339Nano)))
	put([]byte(e.Kind))
	put([]byte(e.SiteID))
	put([]byte(e.CompartmentID))
	put([]byte(e.ParcelID))
	put([]byte(e.GrantID))
	put([]byte(e.Actor))
	keys := make([]string, 0, len(e.Data))
	for k := range e.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		put([]byte(k))
		put([]byte(e.Data[k]))
	}
	return h.Sum(nil)
}

// Seal sets e's position in its stream and its hashes, given the stream's
// current head (seq 0 and nil hash for an empty stream).
func (e *Event) Seal(headSeq int64, headHash []byte) {
	e.Seq = headSeq + 1
	e.PrevHash = append([]byte(nil), headHash...)
	e.Hash = ChainHash(e.PrevHash, e)
}

// DataJSON encodes Data for storage; a nil map encodes as "{}".
func (e *Event) DataJSON() []byte {
	if len(e.Data) == 0 {
		return []byte("{}")
	}
	b, _ := json.Marshal(e.Data) // a map[string]string always marshals
	return b
}
