package devicemsg

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// decodeStrict decodes exactly one JSON value from b into v, rejecting
// input larger than max, unknown fields and trailing data.
func decodeStrict(b []byte, max int, v any) error {
	if len(b) > max {
		return fmt.Errorf("%w: %d bytes exceeds %d", ErrMalformed, len(b), max)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: trailing data after the message", ErrMalformed)
	}
	return nil
}
