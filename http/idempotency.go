package http

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/service"
)

// Idempotency-Key (DESIGN.md 5, issue 3). A POST that carries the header
// claims the key in the store for its caller before it runs; its answer is
// stored under the key for 24 h, and a retry with the same key and the same
// request gets that answer again without running anything:
//
//   - same key, same method, path and body: the stored status, headers and
//     body, plus "Idempotent-Replayed: true";
//   - same key, another request: 422 idempotency_key_reused;
//   - same key while the first request still runs: 409
//     idempotency_key_in_use with Retry-After;
//   - an answer that held a one-time secret (the token of POST
//     /v1/api-keys): only a marker is stored, never the answer, and a retry
//     gets 409 not_replayable. The route is not excluded: excluding it
//     would let a retry silently create a second key.
//
// Answers that say "try again" (5xx, 409, 429) are not stored: the key is
// released so that the retry runs. Keys are scoped per API key (or
// recipient link), so two callers' keys never meet.
//
// The answer is stored after the use case committed, in a transaction of
// its own; a crash between the two leaves the key in flight until
// parcelguard.IdempotencyLease passes, after which a retry runs again.

// idempotencyHeader is the request header; replayedHeader marks a replay.
const (
	idempotencyHeader = "Idempotency-Key"
	replayedHeader    = "Idempotent-Replayed"
)

// metaOneTimeSecret marks an operation whose successful answer holds a
// secret shown once; its answers are never stored for replay.
const metaOneTimeSecret = "parcelguard-one-time-secret"

// replayedHeaders are the response headers worth storing with an answer.
var replayedHeaders = []string{"Content-Type", "Location", "Cache-Control"}

// storedResponse is the encoding of an answer in the store.
type storedResponse struct {
	Header map[string]string `json:"h,omitempty"`
	Body   []byte            `json:"b,omitempty"`
}

// idempotent is huma middleware implementing Idempotency-Key for POSTs of
// authenticated callers.
func (s *Server) idempotent(ctx huma.Context, next func(huma.Context)) {
	key := ctx.Header(idempotencyHeader)
	scope := scopeFrom(ctx.Context())
	if ctx.Method() != http.MethodPost || key == "" || scope == "" {
		next(ctx)
		return
	}
	if !service.ValidIdempotencyKey(key) {
		p := newProblem(parcelguard.EINVALID, "invalid input")
		p.Errors = []ProblemField{{Location: "header." + idempotencyHeader, Message: "must be 1 to 255 printable ASCII characters"}}
		writeHumaProblem(ctx, p)
		return
	}
	body, err := io.ReadAll(io.LimitReader(ctx.BodyReader(), s.maxBody+1))
	if err != nil {
		writeHumaProblem(ctx, newProblem(codeMalformed, "could not read the request body"))
		return
	}
	if int64(len(body)) > s.maxBody {
		writeHumaProblem(ctx, newProblem(codeTooLarge, "request body too large"))
		return
	}
	u := ctx.URL()
	h := sha256.New()
	for _, part := range []string{ctx.Method(), u.Path, u.RawQuery} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	h.Write(body)

	claimed, replay, err := s.svc.BeginIdempotent(ctx.Context(), scope, key, h.Sum(nil))
	switch {
	case errors.Is(err, parcelguard.ErrIdempotencyMismatch):
		writeHumaProblem(ctx, newProblem(codeIdempotencyReused, parcelguard.ErrorMessage(err)))
		return
	case errors.Is(err, parcelguard.ErrIdempotencyInFlight):
		p := newProblem(codeIdempotencyInUse, parcelguard.ErrorMessage(err))
		p.setHeader("Retry-After", "1")
		writeHumaProblem(ctx, p)
		return
	case errors.Is(err, parcelguard.ErrNotReplayable):
		writeHumaProblem(ctx, newProblem(codeNotReplayable, parcelguard.ErrorMessage(err)))
		return
	case err != nil:
		writeHumaProblem(ctx, s.problem(ctx.Context(), err))
		return
	case replay != nil:
		s.replay(ctx, replay)
		return
	}

	rec := &recordingContext{humaContext: ctx, body: bytes.NewReader(body), header: http.Header{}}
	completed := false
	defer func() {
		// Runs after a panic too (observe recovers it): release the key so
		// the retry runs instead of waiting out the lease.
		if !completed {
			s.abandon(ctx.Context(), claimed)
		}
	}()
	next(rec)
	completed = true
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	if status >= 500 || status == http.StatusConflict || status == http.StatusTooManyRequests {
		s.abandon(ctx.Context(), claimed)
		return
	}
	replayable := !(status < 300 && ctx.Operation().Metadata[metaOneTimeSecret] == true)
	var stored []byte
	if replayable {
		sr := storedResponse{Header: map[string]string{}, Body: rec.buf.Bytes()}
		for _, name := range replayedHeaders {
			if v := rec.header.Get(name); v != "" {
				sr.Header[name] = v
			}
		}
		stored, _ = json.Marshal(sr) // strings and bytes always marshal
	}
	// The client may be gone; the answer must be stored all the same.
	if err := s.svc.FinishIdempotent(context.WithoutCancel(ctx.Context()), claimed, status, stored, replayable); err != nil {
		s.log.LogAttrs(ctx.Context(), slog.LevelWarn, "store idempotent answer",
			append(requestAttrs(ctx.Context()), slog.Any("err", err))...)
	}
}

// abandon releases a claimed key, logging (without the key) if it cannot.
func (s *Server) abandon(ctx context.Context, r *parcelguard.IdempotencyRecord) {
	if err := s.svc.AbandonIdempotent(context.WithoutCancel(ctx), r); err != nil {
		s.log.LogAttrs(ctx, slog.LevelWarn, "release idempotency key", append(requestAttrs(ctx), slog.Any("err", err))...)
	}
}

// replay writes a stored answer.
func (s *Server) replay(ctx huma.Context, r *parcelguard.IdempotencyRecord) {
	var sr storedResponse
	if err := json.Unmarshal(r.Response, &sr); err != nil {
		writeHumaProblem(ctx, s.problem(ctx.Context(), err))
		return
	}
	for name, v := range sr.Header {
		ctx.SetHeader(name, v)
	}
	ctx.SetHeader(replayedHeader, "true")
	ctx.SetStatus(r.Status)
	_, _ = ctx.BodyWriter().Write(sr.Body) // the client went away; nothing to do
}

// humaContext lets recordingContext embed huma.Context under a name that
// does not clash with its Context method.
type humaContext = huma.Context

// recordingContext passes a request on with its body re-readable and
// records the answer as it is written.
type recordingContext struct {
	humaContext
	body   io.Reader
	status int
	header http.Header
	buf    bytes.Buffer
}

func (c *recordingContext) BodyReader() io.Reader { return c.body }

func (c *recordingContext) SetStatus(code int) {
	c.status = code
	c.humaContext.SetStatus(code)
}

func (c *recordingContext) Status() int { return c.status }

func (c *recordingContext) SetHeader(name, value string) {
	c.header.Set(name, value)
	c.humaContext.SetHeader(name, value)
}

func (c *recordingContext) AppendHeader(name, value string) {
	c.header.Add(name, value)
	c.humaContext.AppendHeader(name, value)
}

func (c *recordingContext) BodyWriter() io.Writer {
	return io.MultiWriter(c.humaContext.BodyWriter(), &c.buf)
}
