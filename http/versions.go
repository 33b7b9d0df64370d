package http

import (
	"strconv"
	"strings"

	"github.com/parcelguard/parcelguard/service"
)

// Conditional updates (RFC 9110 section 13). Sites and carriers carry a
// version that every change bumps; their ETag is the version in quotes. A
// PATCH must send If-Match: the ETag it read (the change applies only if
// nobody changed the thing since, else 412), or "*" to apply it to
// whatever is current. A PATCH without If-Match is 428, so that no client
// overwrites another's change without having said it means to.

// etag renders a version as a strong entity tag.
func etag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

// precondition reads an If-Match header. If-Match compares strongly, so a
// weak tag (W/"3") or a tag that is not one of our versions matches nothing.
func precondition(h string) service.Precondition {
	h = strings.TrimSpace(h)
	switch h {
	case "":
		return service.Precondition{}
	case "*":
		return service.Precondition{Any: true}
	}
	var p service.Precondition
	for _, tag := range strings.Split(h, ",") {
		tag = strings.TrimSpace(tag)
		if len(tag) < 2 || tag[0] != '"' || tag[len(tag)-1] != '"' {
			continue
		}
		if v, err := strconv.ParseInt(tag[1:len(tag)-1], 10, 64); err == nil && v > 0 {
			p.Versions = append(p.Versions, v)
		}
	}
	if len(p.Versions) == 0 {
		// Present but naming none of our versions: versions start at 1,
		// so 0 matches nothing and the change is refused as stale.
		p.Versions = []int64{0}
	}
	return p
}

// tagged is the output of an operation that answers with a versioned
// thing: its body and its ETag.
type tagged[T any] struct {
	ETag string `header:"ETag" doc:"The version of the answer, for If-Match."`
	Body T
}
