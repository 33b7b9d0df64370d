package sim

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/parcelguard/parcelguard"
)

// rssNow reads the process's resident set size (VmRSS) in bytes.
func rssNow(t *testing.T) uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skip("no /proc")
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func heapNow() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// Measure what the simulation's own state costs at the full peak-day
// preset at its peak (the end of the arrival day), without a store: the
// parcel records, the recipients' visits still to come, the sites and the
// doorstep shipments. It needs about 1.5 GB, so it runs only with
// SIM_FOOTPRINT=1:
//
//	SIM_FOOTPRINT=1 go test -run TestModelFootprint -v ./sim/
func TestModelFootprint(t *testing.T) {
	if os.Getenv("SIM_FOOTPRINT") == "" {
		t.Skip("set SIM_FOOTPRINT=1 to measure the peak-day model (about 1.5 GB)")
	}
	cfg, err := Preset("peak-day")
	if err != nil {
		t.Fatal(err)
	}
	w := &World{cfg: cfg, queue: map[int64][]Action{}, start: cfg.Start, rng: rand.New(rand.NewPCG(1, 2))}
	w.tick.Store(-1)
	report := func(what string, rss0, heap0 uint64, n int) {
		rss, heap := rssNow(t), heapNow()
		t.Logf("%-44s resident %+7.1f MiB (%5.1f bytes each of %d), of which live Go heap %+7.1f MiB (%5.1f bytes each)", what,
			float64(int64(rss-rss0))/(1<<20), float64(int64(rss-rss0))/float64(n), n,
			float64(int64(heap-heap0))/(1<<20), float64(int64(heap-heap0))/float64(n))
	}

	rss0, heap0 := rssNow(t), heapNow()
	w.sites = make([]*siteRec, cfg.Sites)
	now := cfg.Start
	for i := range w.sites {
		id := parcelguard.NewID("sit", now)
		w.sites[i] = &siteRec{idx: i, id: id, compartments: cfg.CompartmentsPerSite, roundAt: -1,
			kiosk: parcelguard.Principal{Role: parcelguard.RoleKiosk, KeyPrefix: "pgk_kiosk", SiteID: id}}
	}
	report("sites", rss0, heap0, cfg.Sites)
	runtime.KeepAlive(w.sites)

	rss0, heap0 = rssNow(t), heapNow()
	parcels, free := offHeap[parcelRec](cfg.Parcels)
	defer free()
	w.parcels = parcels
	pending := 0
	day := 24 * time.Hour
	for m := time.Duration(0); m < day; m += time.Minute {
		for range cfg.Curve.Count(cfg.Parcels, cfg.ArrivalDays, m, m+time.Minute) {
			idx := len(w.parcels)
			id, _ := packID(parcelguard.NewID("par", now))
			cmp, _ := packID(parcelguard.NewID("cmp", now))
			p := parcelRec{id: id, compartment: cmp, site: int32(idx % cfg.Sites), state: pDeposited,
				announced: uint32(now.Unix()), deposited: uint32(now.Unix()), deadline: uint32(now.Unix())}
			w.parcels = append(w.parcels, p)
			// A recipient who comes after the end of the arrival day
			// is a visit still scheduled at its end.
			if d, never := cfg.Delay.Draw(w.rng); !never && m+d > day {
				pending++
				w.Schedule(cfg.Start.Add(m+d), func(ctx context.Context, w *World) { w.recipientVisit(ctx, idx) })
			}
		}
	}
	report(fmt.Sprintf("parcel records (%d bytes each)", unsafe.Sizeof(parcelRec{})), rss0, heap0, len(w.parcels))
	t.Logf("visits still scheduled at the end of the arrival day: %d (%.0f %%)", pending, 100*float64(pending)/float64(cfg.Parcels))

	rss0, heap0 = rssNow(t), heapNow()
	n := int(float64(cfg.Parcels) * DoorstepShare)
	d := NewDoorstep(DefaultDoorstep(n))
	recs, freeRecs := offHeap[doorRec](n)
	defer freeRecs()
	d.recs = recs[:n]
	for i := range d.recs {
		// A shipment out for delivery with today's and yesterday's
		// passwords and a delegate's: the most it holds.
		d.recs[i] = doorRec{pid: packed(parcelguard.NewID("par", now)), pw: code6(i%1e6 + 1), pwID: packed(parcelguard.NewID("dpw", now)),
			oldPW: code6((i+1)%1e6 + 1), delegID: packed(parcelguard.NewID("dpw", now)), delegPW: 1, delegShown: 1, lockerSite: -1}
	}
	report(fmt.Sprintf("doorstep shipments (%d bytes each)", unsafe.Sizeof(doorRec{})), rss0, heap0, n)
	runtime.KeepAlive(w)
	runtime.KeepAlive(d)
}

// Ensure the records kept outside the Go heap hold no pointer: the
// collector would not see what they point to.
func TestOffHeapRecordsHoldNoPointer(t *testing.T) {
	for _, typ := range []reflect.Type{reflect.TypeFor[parcelRec](), reflect.TypeFor[doorRec]()} {
		if path := pointerIn(typ, typ.Name()); path != "" {
			t.Errorf("%s holds a pointer at %s", typ, path)
		}
	}
	if pointerIn(reflect.TypeFor[struct{ s []byte }](), "x") == "" {
		t.Error("the check does not find a slice")
	}
}

// pointerIn returns the path of the first pointer-holding field of typ ("" if none).
func pointerIn(typ reflect.Type, path string) string {
	switch typ.Kind() {
	case reflect.Struct:
		for i := range typ.NumField() {
			f := typ.Field(i)
			if p := pointerIn(f.Type, path+"."+f.Name); p != "" {
				return p
			}
		}
		return ""
	case reflect.Array:
		return pointerIn(typ.Elem(), path+"[]")
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8,
		reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr, reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return ""
	}
	return path
}
