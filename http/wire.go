package http

import "time"

// Generic operation inputs and outputs. huma reads headers, status and body
// from struct fields; these wrappers say "just a body" once instead of per
// operation. The OpenAPI schemas are named after T, not after the wrapper.

// bodyInput is the input of an operation that takes only a request body.
type bodyInput[T any] struct {
	Body T
}

// reply is the output of an operation that answers with a body.
type reply[T any] struct {
	Body T
}

// created is the output of an operation that created the resource at
// Location.
type created[T any] struct {
	Location string `header:"Location" doc:"Where the new resource lives."`
	Body     T
}

// List is a page of results. NextCursor is set when the page is full: pass
// it as ?cursor= to get the next one.
type List[T any] struct {
	Items      []T    `json:"items" nullable:"false"`
	NextCursor string `json:"next_cursor,omitempty" doc:"Pass as ?cursor= for the next page; absent on the last page."`
}

// seconds renders a duration as the whole seconds the API speaks.
func seconds(d time.Duration) int64 { return int64(d / time.Second) }

// utc renders a time in UTC, the only zone the API speaks.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC()
}

// idParam bounds every {id} path parameter; ids are about 30 characters.
// Malformed ids are simply not found, like missing ones.
type idParam struct {
	ID string `path:"id" minLength:"1" maxLength:"64" doc:"Resource id."`
}
