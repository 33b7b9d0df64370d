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

// Idempotency-Key (DESIGN.md 5). A POST that carries the header claims
// the key for its caller in the store; its answer is stored under the key
// for 24 h, and a retry with the same key and the same request gets that
// answer again without running anything:
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
// The claim travels with the request (service.WithIdempotencyClaim) and is
// written by its first write transaction, with its effect, so the two
// commit together; the answer is held back until the key's fate is known.
// Then it goes out, and is stored under the key just after, with other
// requests' answers (service.StoreAnswerLater); a retry that comes in
// between waits for it. A crash before it is stored leaves the key in
// flight until parcelguard.IdempotencyLease passes, after which a retry
// runs again. A request whose key is stored already runs nothing and is
// answered from the stored record (idempotentAgain).

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

	sum := h.Sum(nil)
	claim, err := service.NewIdempotencyClaim(scope, key, sum)
	if err != nil {
		writeHumaProblem(ctx, s.problem(ctx.Context(), err))
		return
	}
	// The request's first write claims the key with its effect. Its
	// answer is held back until the key's fate is known.
	rec := &recordingContext{humaContext: ctx, body: bytes.NewReader(body), header: http.Header{}, hold: true}
	completed := false
	defer func() {
		// Runs after a panic too (observe recovers it): release a claim
		// so the retry runs instead of waiting out the lease.
		if !completed && claim.Made() != nil {
			s.abandon(ctx.Context(), claim.Made())
		}
	}()
	next(huma.WithContext(rec, service.WithIdempotencyClaim(ctx.Context(), claim)))
	completed = true
	if claim.Taken() {
		// The key was stored before: nothing ran, and what the answer is
		// depends on the stored record.
		s.idempotentAgain(ctx, scope, key, sum, body, next)
		return
	}
	stored, keep := s.answerToStore(ctx, rec)
	if r := claim.Made(); r != nil {
		if keep {
			s.svc.StoreAnswerLater(r, rec.statusOr200(), stored.body, stored.replayable)
		} else {
			s.abandon(ctx.Context(), r)
		}
		rec.flush()
		return
	}
	// The request wrote nothing, so its key was never met: it may be the
	// repeat of a request that stored it.
	repeat := false
	if keep {
		taken, err := s.svc.StoreIdempotent(context.WithoutCancel(ctx.Context()), claim, rec.statusOr200(), stored.body, stored.replayable)
		if err != nil {
			s.logStoreFailure(ctx, err)
		}
		repeat = taken
	} else {
		repeat, _ = s.svc.IdempotencyKeyStored(ctx.Context(), claim) // unknown: answer as it stands
	}
	if repeat {
		s.idempotentAgain(ctx, scope, key, sum, body, next)
		return
	}
	rec.flush()
}

// idempotentAgain answers a request whose key is stored already: the
// stored answer, a refusal, or (for a key expired or left by a request
// that died) a run of its own under a claim taken over first.
func (s *Server) idempotentAgain(ctx huma.Context, scope, key string, sum, body []byte, next func(huma.Context)) {
	claimed, replay, err := s.svc.BeginIdempotent(ctx.Context(), scope, key, sum)
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
		if !completed {
			s.abandon(ctx.Context(), claimed)
		}
	}()
	next(rec)
	completed = true
	if stored, ok := s.answerToStore(ctx, rec); ok {
		s.svc.StoreAnswerLater(claimed, rec.statusOr200(), stored.body, stored.replayable)
	} else {
		s.abandon(ctx.Context(), claimed)
	}
}

// storedAnswer is an answer as it is kept for replay.
type storedAnswer struct {
	body       []byte
	replayable bool
}

// answerToStore returns what to keep of rec's answer, or false for an
// answer that says "try again" (5xx, 409, 429), which releases the key
// so the retry runs.
func (s *Server) answerToStore(ctx huma.Context, rec *recordingContext) (storedAnswer, bool) {
	status := rec.statusOr200()
	if status >= 500 || status == http.StatusConflict || status == http.StatusTooManyRequests {
		return storedAnswer{}, false
	}
	if status < 300 && ctx.Operation().Metadata[metaOneTimeSecret] == true {
		return storedAnswer{}, true // withheld: a marker, never the secret
	}
	sr := storedResponse{Header: map[string]string{}, Body: rec.buf.Bytes()}
	for _, name := range replayedHeaders {
		if v := rec.header.Get(name); v != "" {
			sr.Header[name] = v
		}
	}
	stored, _ := json.Marshal(sr) // strings and bytes always marshal
	return storedAnswer{body: stored, replayable: true}, true
}

func (s *Server) logStoreFailure(ctx huma.Context, err error) {
	s.log.LogAttrs(ctx.Context(), slog.LevelWarn, "store idempotent answer",
		append(requestAttrs(ctx.Context()), slog.Any("err", err))...)
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
// records the answer as it is written. With hold, the answer reaches the
// client only at flush, so an answer that must not go out can be dropped.
type recordingContext struct {
	humaContext
	body   io.Reader
	status int
	header http.Header
	buf    bytes.Buffer
	hold   bool
}

func (c *recordingContext) BodyReader() io.Reader { return c.body }

func (c *recordingContext) SetStatus(code int) {
	c.status = code
	if !c.hold {
		c.humaContext.SetStatus(code)
	}
}

func (c *recordingContext) Status() int { return c.status }

// statusOr200 is the answer's status; none set means 200.
func (c *recordingContext) statusOr200() int {
	if c.status == 0 {
		return http.StatusOK
	}
	return c.status
}

func (c *recordingContext) SetHeader(name, value string) {
	c.header.Set(name, value)
	if !c.hold {
		c.humaContext.SetHeader(name, value)
	}
}

func (c *recordingContext) AppendHeader(name, value string) {
	c.header.Add(name, value)
	if !c.hold {
		c.humaContext.AppendHeader(name, value)
	}
}

func (c *recordingContext) BodyWriter() io.Writer {
	if c.hold {
		return &c.buf
	}
	return io.MultiWriter(c.humaContext.BodyWriter(), &c.buf)
}

// flush sends a held answer to the client.
func (c *recordingContext) flush() {
	if !c.hold {
		return
	}
	for name, values := range c.header {
		for i, v := range values {
			if i == 0 {
				c.humaContext.SetHeader(name, v)
			} else {
				c.humaContext.AppendHeader(name, v)
			}
		}
	}
	if c.status != 0 {
		c.humaContext.SetStatus(c.status)
	}
	_, _ = c.humaContext.BodyWriter().Write(c.buf.Bytes()) // the client went away; nothing to do
}
