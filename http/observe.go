package http

import (
	"context"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/parcelguard/parcelguard"
)

// routeUnmatched labels requests no route matched, so that arbitrary paths
// cannot blow up the metrics' label cardinality.
const routeUnmatched = "unmatched"

// requestInfo is what the layers of one request learn about it for the
// access log: the router fills in the route pattern, authentication the key
// prefix. It travels in the request context as a pointer so inner layers can
// fill it in for the outer one.
type requestInfo struct {
	route string
	// client names the caller's address (see TrustedProxies.ClientAddress).
	client    string
	keyPrefix string
	log       *slog.Logger
}

type requestInfoKey struct{}

func requestInfoFrom(ctx context.Context) *requestInfo {
	info, _ := ctx.Value(requestInfoKey{}).(*requestInfo)
	return info
}

// requestAttrs describes the request in a log line: its route pattern and
// the caller's key prefix. Never the raw path, query, headers or body.
func requestAttrs(ctx context.Context) []slog.Attr {
	info := requestInfoFrom(ctx)
	if info == nil {
		return nil
	}
	attrs := []slog.Attr{slog.String("route", info.route), slog.String("client", info.client)}
	if info.keyPrefix != "" {
		attrs = append(attrs, slog.String("key_prefix", info.keyPrefix))
	}
	return attrs
}

// observe runs next and then counts the request, times it and writes one
// access log line. It also turns a panic into a 500 problem, so a bug in one
// handler answers like any other internal error.
func (s *Server) observe(w http.ResponseWriter, r *http.Request, next http.HandlerFunc) {
	start := time.Now()
	info := &requestInfo{route: routeUnmatched, client: s.clientAddr(r), log: s.log}
	r = r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, info))
	sw := &statusWriter{ResponseWriter: w}

	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v) // net/http's way to abort a response; not a bug
			}
			s.log.LogAttrs(r.Context(), slog.LevelError, "panic",
				append(requestAttrs(r.Context()), slog.Any("panic", v), slog.String("stack", string(debug.Stack())))...)
			if !sw.wroteHeader {
				writeProblem(sw, newProblem(parcelguard.EINTERNAL, ""))
			}
		}
		elapsed := time.Since(start)
		status := sw.statusCode()
		method := metricMethod(r.Method)
		s.metrics.Requests.WithLabelValues(info.route, method, strconv.Itoa(status)).Inc()
		s.metrics.RequestSeconds.WithLabelValues(info.route).Observe(elapsed.Seconds())
		attrs := []slog.Attr{
			slog.String("method", method),
			slog.String("route", info.route),
			slog.Int("status", status),
			slog.Duration("duration", elapsed),
			slog.String("client", info.client),
		}
		if info.keyPrefix != "" {
			attrs = append(attrs, slog.String("key_prefix", info.keyPrefix))
		}
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
	}()

	next(sw, r)
}

// metricMethod bounds the method label to the methods HTTP defines.
func metricMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "OTHER"
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (w *statusWriter) WriteHeader(status int) {
	if !w.wroteHeader {
		w.status, w.wroteHeader = status, true
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.status, w.wroteHeader = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer (huma
// uses it to set read deadlines).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) statusCode() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}
