package parcelguard_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
)

// Ensure every field of an event is covered by its hash and the chain links.
func TestChainHash(t *testing.T) {
	base := func() *parcelguard.Event {
		return &parcelguard.Event{ID: "evt_1", Stream: "site:s", At: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC),
			Kind: parcelguard.EventParcelDeposited, SiteID: "s", CompartmentID: "c", ParcelID: "p", GrantID: "g",
			Actor: "courier:x", Data: map[string]string{"label": "A1"}}
	}
	e := base()
	e.Seal(4, []byte("prev"))
	if e.Seq != 5 || !bytes.Equal(e.PrevHash, []byte("prev")) {
		t.Fatalf("seal set seq %d prev %q", e.Seq, e.PrevHash)
	}
	edits := map[string]func(e *parcelguard.Event){
		"ID": func(e *parcelguard.Event) { e.ID = "evt_2" }, "Stream": func(e *parcelguard.Event) { e.Stream = "system" },
		"Seq": func(e *parcelguard.Event) { e.Seq++ }, "At": func(e *parcelguard.Event) { e.At = e.At.Add(1) },
		"Kind": func(e *parcelguard.Event) { e.Kind = parcelguard.EventParcelPickedUp }, "Site": func(e *parcelguard.Event) { e.SiteID = "t" },
		"Compartment": func(e *parcelguard.Event) { e.CompartmentID = "d" }, "Parcel": func(e *parcelguard.Event) { e.ParcelID = "q" },
		"Grant": func(e *parcelguard.Event) { e.GrantID = "h" }, "Actor": func(e *parcelguard.Event) { e.Actor = "admin" },
		"DataValue": func(e *parcelguard.Event) { e.Data["label"] = "A2" }, "DataKey": func(e *parcelguard.Event) { e.Data["x"] = "" },
		"Prev": func(e *parcelguard.Event) { e.PrevHash = []byte("other") },
	}
	for name, edit := range edits {
		t.Run(name, func(t *testing.T) {
			f := base()
			f.Seal(4, []byte("prev"))
			edit(f)
			if bytes.Equal(parcelguard.ChainHash(f.PrevHash, f), e.Hash) {
				t.Fatalf("editing %s does not change the hash", name)
			}
		})
	}
	// Moving bytes between fields must change the hash (length prefixes).
	a, b := base(), base()
	a.SiteID, a.CompartmentID = "ab", "c"
	b.SiteID, b.CompartmentID = "a", "bc"
	if bytes.Equal(parcelguard.ChainHash(nil, a), parcelguard.ChainHash(nil, b)) {
		t.Fatal("field boundaries are ambiguous")
	}
}

// Ensure ids sort by creation time and are unique.
func TestNewID(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	seen := map[string]bool{}
	prev := ""
	for i := range 1000 {
		id := parcelguard.NewID("par", t0.Add(time.Duration(i)*time.Millisecond))
		if len(id) != len("par_")+26 || seen[id] || id <= prev {
			t.Fatalf("id %q (prev %q) not unique, sorted and well-formed", id, prev)
		}
		seen[id], prev = true, id
	}
}
