package parcelguard

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rickar/cal/v2"
	"github.com/rickar/cal/v2/at"
	"github.com/rickar/cal/v2/be"
	"github.com/rickar/cal/v2/ch"
	"github.com/rickar/cal/v2/cz"
	"github.com/rickar/cal/v2/de"
	"github.com/rickar/cal/v2/dk"
	"github.com/rickar/cal/v2/es"
	"github.com/rickar/cal/v2/fr"
	"github.com/rickar/cal/v2/gb"
	"github.com/rickar/cal/v2/ie"
	"github.com/rickar/cal/v2/it"
	"github.com/rickar/cal/v2/nl"
	"github.com/rickar/cal/v2/pl"
	"github.com/rickar/cal/v2/se"
	"github.com/rickar/cal/v2/sk"
	"github.com/rickar/cal/v2/us"
)

// Working days come from github.com/rickar/cal/v2 (BSD-3-Clause), which
// keeps the national public holidays of each country, including movable
// feasts and observed days. Regional holidays (a German Land, a US state)
// are not applied: a parcel is redelivered on a national working day.
var countryHolidays = map[string][]*cal.Holiday{
	"AT": at.Holidays, "BE": be.Holidays, "CH": ch.Holidays, "CZ": cz.Holidays, "DE": de.Holidays,
	"DK": dk.Holidays, "ES": es.Holidays, "FR": fr.Holidays, "GB": gb.Holidays, "IE": ie.Holidays,
	"IT": it.Holidays, "NL": nl.Holidays, "PL": pl.Holidays, "SE": se.Holidays, "SK": sk.Holidays,
	"US": us.Holidays,
}

var (
	calendarsMu sync.Mutex
	calendars   = map[string]*cal.BusinessCalendar{}
)

// DoorstepCountries lists the ISO 3166-1 alpha-2 codes whose working days
// parcelguard knows, sorted.
func DoorstepCountries() []string {
	out := make([]string, 0, len(countryHolidays))
	for c := range countryHolidays {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// KnownCountry reports whether the working days of country are known.
func KnownCountry(country string) bool {
	_, ok := countryHolidays[strings.ToUpper(country)]
	return ok
}

// IsWorkingDay reports whether d is a working day in country: Monday to
// Friday and no public holiday (nor a holiday's observed day). An unknown
// country has only weekends off.
func IsWorkingDay(country string, d DeliveryDate) bool {
	calendarsMu.Lock()
	defer calendarsMu.Unlock()
	country = strings.ToUpper(country)
	c, ok := calendars[country]
	if !ok {
		c = cal.NewBusinessCalendar()
		c.AddHoliday(countryHolidays[country]...)
		calendars[country] = c
	}
	return c.IsWorkday(time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC))
}

// NextWorkingDay returns the first working day of country after d.
func NextWorkingDay(country string, d DeliveryDate) DeliveryDate {
	// A year never has more than a couple of weeks without a working day;
	// the bound only guards against a calendar that says "never".
	for i := 1; i <= 31; i++ {
		if n := d.AddDays(i); IsWorkingDay(country, n) {
			return n
		}
	}
	return d.AddDays(1)
}
