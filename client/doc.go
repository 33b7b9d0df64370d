// Package client is the Go client of parcelguard's /v1 API, used by the
// tests, the simulator and the locker agent.
//
// It is typed (one method per operation, request and response structs
// mirroring the API's JSON), context-aware (every call takes a context and
// stops when it ends), and safe to retry: GETs, DELETEs (each of this API's
// is idempotent), and POSTs, which it sends with an Idempotency-Key it
// generates once per call, are retried on 429,
// 503, an Idempotency-Key still in use, and connection errors, with
// exponential backoff and jitter that honours Retry-After, a bounded number
// of times (MaxAttempts; a Retry-After above MaxRetryAfter is returned as
// the error). Other requests (PATCH) are retried only on 429, which the
// server answers before doing anything. PATCHes are conditional: they name
// the Version the caller read (or AnyVersion), and a stale one is
// ErrStaleVersion. TestClientCoversEveryOperation holds the client to
// every operation of the server's OpenAPI document.
//
// Every non-2xx answer is returned as *Error carrying the RFC 9457 problem
// (type, status, detail, invalid fields); test it with errors.As, or with
// errors.Is against ErrNotFound and friends.
//
//	c, err := client.New("https://parcelguard.example", client.WithToken(apiKey))
//	p, err := c.AnnounceParcel(ctx, client.NewParcel{...})
//	var perr *client.Error
//	if errors.As(err, &perr) && perr.Status == 422 { ... perr.Fields ... }
package client
