package postgres

import (
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/parcelguard/parcelguard"
)

// Prefetching. The use cases read rows one by one, each read waiting for
// the one before, but some reads always follow others: a deposit reads the
// parcel, then its compartment, site and carrier; a pickup reads the site,
// then its guard, then the grant the code names, then that grant's parcel,
// compartment and delegate; an expiry claims the timer, then reads its
// parcel and the parcel's grants. A read therefore also sends, in the same
// round trip, the reads that follow it, and keeps their rows in tx.cache
// for the use case's next calls.
//
// A kept row is what a read in that round trip saw. Serving a later read
// from it is as if that read had run then, which READ COMMITTED allows (a
// later statement could as well have seen the same committed state), as
// long as the transaction has not changed the row since. So that a
// transaction always reads its own writes, the next round trip empties the
// cache (send), and a write queued to go with it (later) either touches
// no table the cache holds rows of (timers, outbox, events, stream heads)
// or is a Save that updates the cache itself: it forgets the saved row, or
// for a grant replaces it in the kept grant lists with what the save
// writes. Each kept row is handed out once, so no two callers share one
// struct, and a second read of the row goes to the database. A View's
// reads all see one snapshot, so there it changes nothing at all.

// Cache keys: the kind of row and its key.
func parcelKey(id string) string      { return "parcel\x00" + id }
func compartmentKey(id string) string { return "compartment\x00" + id }
func siteKey(id string) string        { return "site\x00" + id }
func carrierKey(id string) string     { return "carrier\x00" + id }
func guardKey(siteID string) string   { return "guard\x00" + siteID }
func delegateKey(grant string) string { return "delegate\x00" + grant }
func lockerKey(siteID string) string  { return "locker\x00" + siteID }
func grantsOfKey(parcel string) string {
	return "grantsof\x00" + parcel
}

// keep caches v (nil: known not to exist) under key.
func (t *tx) keep(key string, v any) {
	if t.cache == nil {
		t.cache = make(map[string]any)
	}
	t.cache[key] = v
}

// forget drops what is kept under key.
func (t *tx) forget(key string) {
	delete(t.cache, key)
}

// savedGrant updates the kept grant lists for a save of g: the list of
// g's parcel gets g as saved in place of the grant it held, and any other
// list holding g (g moved to another parcel) is dropped.
func (t *tx) savedGrant(g *parcelguard.Grant) {
	own := grantsOfKey(g.ParcelID)
	for key, v := range t.cache {
		gs, ok := v.([]*parcelguard.Grant)
		if !ok {
			continue
		}
		i := slices.IndexFunc(gs, func(x *parcelguard.Grant) bool { return x.ID == g.ID })
		switch {
		case i >= 0 && key == own:
			c := *g
			c.CodeHash, c.PhoneHash, c.CodeSealed = slices.Clone(g.CodeHash), slices.Clone(g.PhoneHash), slices.Clone(g.CodeSealed)
			gs[i] = &c
		case i >= 0 || key == own:
			delete(t.cache, key)
		}
	}
}

// take hands out the row cached under key, once; ok is false if there is
// none and the caller must read the row itself.
func (t *tx) take(key string) (v any, ok bool) {
	if v, ok = t.cache[key]; ok {
		delete(t.cache, key)
	}
	return v, ok
}

// prefetch is a statement whose rows are kept under the keys scan gives
// them. absent, if not nil, is called once the rows are read and names
// keys to keep as not existing unless a row came for them.
func (t *tx) prefetch(q string, args []any, scan func(row scanRow) (key string, v any, err error), absent func() []string) stmt {
	return stmt{sql: q, args: args, fn: func(br pgx.BatchResults) error {
		rows, err := br.Query()
		if err != nil {
			return err
		}
		defer rows.Close()
		found := make(map[string]bool)
		for rows.Next() {
			key, v, err := scan(rows)
			if err != nil {
				return err
			}
			t.keep(key, v)
			found[key] = true
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if absent != nil {
			for _, key := range absent() {
				if !found[key] {
					t.keep(key, nil)
				}
			}
		}
		return nil
	}}
}

// Scanners for prefetch, one per kind of row.
func prefetchedParcel(row scanRow) (string, any, error) {
	p, err := scanParcel(row)
	if err != nil {
		return "", nil, err
	}
	return parcelKey(p.ID), p, nil
}

func prefetchedCompartment(row scanRow) (string, any, error) {
	c, err := scanCompartment(row)
	if err != nil {
		return "", nil, err
	}
	return compartmentKey(c.ID), c, nil
}

func prefetchedSite(row scanRow) (string, any, error) {
	s, err := scanSite(row)
	if err != nil {
		return "", nil, err
	}
	return siteKey(s.ID), s, nil
}

func prefetchedLocker(row scanRow) (string, any, error) {
	l, err := scanLocker(row)
	if err != nil {
		return "", nil, err
	}
	return lockerKey(l.SiteID), l, nil
}

// lockerAhead reads ahead the locker record of the site q names, kept as
// not existing when the site has none: every grant change asks whether
// its site has a locker agent to tell. siteID is read when the rows are,
// so it may come from an earlier statement of the same round trip.
func (t *tx) lockerAhead(q string, args []any, siteID func() string) stmt {
	return t.prefetch(q, args, prefetchedLocker, func() []string {
		if id := siteID(); id != "" {
			return []string{lockerKey(id)}
		}
		return nil
	})
}

func prefetchedCarrier(row scanRow) (string, any, error) {
	c, err := scanCarrier(row)
	if err != nil {
		return "", nil, err
	}
	return carrierKey(c.ID), c, nil
}

func prefetchedDelegate(row scanRow) (string, any, error) {
	d, err := scanDelegate(row)
	if err != nil {
		return "", nil, err
	}
	return delegateKey(d.GrantID), d, nil
}

// keepGrantsOfParcels reads prefetched grants ordered by parcel, then
// oldest first, and keeps each parcel's list for GrantsOfParcel. A parcel
// without grants gets no list: the result does not name it.
func (t *tx) keepGrantsOfParcels(br pgx.BatchResults) error {
	rows, err := br.Query()
	if err != nil {
		return err
	}
	defer rows.Close()
	var gs []*parcelguard.Grant
	flush := func() {
		if len(gs) > 0 {
			t.keep(grantsOfKey(gs[0].ParcelID), gs)
		}
		gs = nil
	}
	for rows.Next() {
		g, err := scanGrant(rows)
		if err != nil {
			return err
		}
		if len(gs) > 0 && gs[0].ParcelID != g.ParcelID {
			flush()
		}
		gs = append(gs, g)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	flush()
	return nil
}
