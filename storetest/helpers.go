package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parcelguard/parcelguard"
)

// update runs fn in an Update and fails the test on error.
//
// An engine may run fn on another goroutine (the sqlite writer does), where
// t.Fatal must not be called, so fns assert with check instead.
func update(t testing.TB, s parcelguard.Store, fn func(ctx context.Context, tx parcelguard.Tx) error) {
	t.Helper()
	if err := tryUpdate(t, s, fn); err != nil {
		t.Fatalf("update: %v", err)
	}
}

// view runs fn in a View and fails the test on error.
func view(t testing.TB, s parcelguard.Store, fn func(ctx context.Context, tx parcelguard.Tx) error) {
	t.Helper()
	ctx := t.Context()
	if err := s.View(ctx, func(tx parcelguard.Tx) error { return fn(ctx, tx) }); err != nil {
		t.Fatalf("view: %v", err)
	}
}

// tryUpdate runs fn in an Update and returns its error.
func tryUpdate(t testing.TB, s parcelguard.Store, fn func(ctx context.Context, tx parcelguard.Tx) error) error {
	ctx := t.Context()
	return s.Update(ctx, func(tx parcelguard.Tx) (err error) {
		defer catch(&err)
		return fn(ctx, tx)
	})
}

// failure carries a failed check out of an Update fn.
type failure struct{ err error }

// check aborts the running Update fn with err, if not nil; catch turns the
// abort back into fn's error. Unlike t.Fatal it is safe on any goroutine.
func check(err error) {
	if err != nil {
		panic(failure{err})
	}
}

// catch recovers a failed check into *err; other panics go on.
func catch(err *error) {
	if r := recover(); r != nil {
		f, ok := r.(failure)
		if !ok {
			panic(r)
		}
		*err = fmt.Errorf("check failed: %w", f.err)
	}
}

// wantErr fails the test unless errors.Is(err, target).
func wantErr(t testing.TB, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("got error %v, want one matching %v", err, target)
	}
}

// noErr fails the test on err.
func noErr(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// equal fails the test unless got and want are deeply equal once both are
// normalised: times in UTC without monotonic readings, empty byte slices
// and maps as nil. Engines may hand back equivalent values in other forms.
func equal(t testing.TB, got, want any) {
	t.Helper()
	g, w := normalize(reflect.ValueOf(got)), normalize(reflect.ValueOf(want))
	if reflect.DeepEqual(g.Interface(), w.Interface()) {
		return
	}
	t.Fatalf("mismatch:\n%s", diff(g, w))
}

var timeType = reflect.TypeFor[time.Time]()

// normalize returns a normalised deep copy of v (structs, pointers, slices
// and maps are copied; the originals are left alone).
func normalize(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		p := reflect.New(v.Type().Elem())
		p.Elem().Set(normalize(v.Elem()))
		return p
	case reflect.Struct:
		if v.Type() == timeType {
			tm := v.Interface().(time.Time)
			if tm.IsZero() {
				return reflect.ValueOf(time.Time{})
			}
			return reflect.ValueOf(tm.UTC().Round(0))
		}
		out := reflect.New(v.Type()).Elem()
		for i := range v.NumField() {
			if out.Field(i).CanSet() {
				out.Field(i).Set(normalize(v.Field(i)))
			}
		}
		return out
	case reflect.Slice:
		if v.Len() == 0 {
			return reflect.Zero(v.Type())
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return v
		}
		out := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			out.Index(i).Set(normalize(v.Index(i)))
		}
		return out
	case reflect.Map:
		if v.Len() == 0 {
			return reflect.Zero(v.Type())
		}
	}
	return v
}

// diff describes how normalised values differ, field by field for structs
// and element by element for slices.
func diff(got, want reflect.Value) string {
	var b strings.Builder
	var walk func(path string, g, w reflect.Value)
	walk = func(path string, g, w reflect.Value) {
		if reflect.DeepEqual(g.Interface(), w.Interface()) {
			return
		}
		switch {
		case g.Kind() == reflect.Pointer && !g.IsNil() && !w.IsNil():
			walk(path, g.Elem(), w.Elem())
			return
		case g.Kind() == reflect.Struct && g.Type() != timeType:
			for i := range g.NumField() {
				walk(path+"."+g.Type().Field(i).Name, g.Field(i), w.Field(i))
			}
			return
		case g.Kind() == reflect.Slice && g.Type().Elem().Kind() != reflect.Uint8 && g.Len() == w.Len():
			for i := range g.Len() {
				walk(fmt.Sprintf("%s[%d]", path, i), g.Index(i), w.Index(i))
			}
			return
		}
		fmt.Fprintf(&b, "  %s: got %+v, want %+v\n", path, g.Interface(), w.Interface())
	}
	walk("", got, want)
	return b.String()
}

// sortByID sorts parcels by id, the order of every cursor.
func sortByID(ps []*parcelguard.Parcel) {
	slices.SortFunc(ps, func(a, b *parcelguard.Parcel) int { return strings.Compare(a.ID, b.ID) })
}

// sortGrants sorts grants by id, since the contract fixes no order.
func sortGrants(gs []*parcelguard.Grant) {
	slices.SortFunc(gs, func(a, b *parcelguard.Grant) int { return strings.Compare(a.ID, b.ID) })
}

// sorted returns a sorted copy of ss.
func sorted(ss []string) []string {
	out := slices.Clone(ss)
	slices.Sort(out)
	return out
}
