// Package refusal builds the one log event every Bulwark layer and the
// gateway write when they refuse a request.
//
// The event has one shape everywhere:
//
//	event      what was refused, a snake_case name ("disallowed_host")
//	reason     why, a stable snake_case slug ("invalid_port"); never a
//	           sentence, never request data
//	client_ip  the client as the chain established it (behind a trusted
//	           proxy: the client, not the proxy); "" when unknown
//	host       the validated host as is, or, when no layer validated
//	           it, the raw host quoted and cut to 256 bytes
//	method     the request method, cut to 32 bytes
//	path       the escaped path (no control bytes), cut to 256 bytes
//	detail     optional: a human explanation (Django's sentence), quoted
//	           and cut to 256 bytes, since it may hold request data
//	request_id behind the gateway: the id of the request, as in its
//	           access log line and on its refusal page (X-Request-Id)
//
// followed by any attributes of the caller's own ("header", "limit"...).
// Request data thus reaches the log only quoted and bounded: one request
// cannot forge a log line or write more than a line's worth. The gateway
// counts refusals by event and reason as they are: the reason is already
// a bounded slug.
package refusal

import (
	"log/slog"
	"net/http"
	"strconv"

	"github.com/bulwarkdev/bulwark/internal/reqstate"
)

// Bounds of the request data in an event, in bytes.
const (
	MaxHost   = 256
	MaxMethod = 32
	MaxPath   = 256
	MaxDetail = 256
)

// InvalidReason replaces a reason that is not a slug (a programming
// error, caught by the tests of each package).
const InvalidReason = "invalid_reason"

// Log writes the refusal event of r to logger at Info level (a nil logger
// writes nothing). event and reason must be slugs (see IsSlug); extra
// attributes follow the standard ones.
func Log(logger *slog.Logger, r *http.Request, msg, event, reason string, extra ...slog.Attr) {
	LogLevel(logger, r, slog.LevelInfo, msg, event, reason, extra...)
}

// LogLevel is Log at the given level.
func LogLevel(logger *slog.Logger, r *http.Request, level slog.Level, msg, event, reason string, extra ...slog.Attr) {
	if logger == nil {
		return
	}
	ctx := r.Context()
	if !logger.Enabled(ctx, level) {
		return
	}
	if !IsSlug(event) {
		event = "refused"
	}
	if !IsSlug(reason) {
		reason = InvalidReason
	}
	attrs := make([]slog.Attr, 0, 7+len(extra))
	attrs = append(attrs,
		slog.String("event", event),
		slog.String("reason", reason),
		slog.String("client_ip", ClientIP(r)),
		slog.String("host", Host(r)),
		slog.String("method", Truncate(r.Method, MaxMethod)),
		slog.String("path", Path(r)),
	)
	// The id the gateway gave the request: the same in the access log
	// and on the refusal page (X-Request-Id).
	if id, ok := reqstate.From(r).RequestID(); ok {
		attrs = append(attrs, slog.String("request_id", id))
	}
	attrs = append(attrs, extra...)
	logger.LogAttrs(ctx, level, msg, attrs...)
}

// Detail returns the optional "detail" attribute: s quoted and cut to
// MaxDetail bytes.
func Detail(s string) slog.Attr {
	return slog.String("detail", strconv.Quote(Truncate(s, MaxDetail)))
}

// Quoted returns an attribute holding request data s quoted and cut to
// MaxHost bytes, for the callers' own attributes.
func Quoted(key, s string) slog.Attr {
	return slog.String(key, strconv.Quote(Truncate(s, MaxHost)))
}

// ClientIP returns the client address of r as the chain established it
// (the peer when no layer did), or "" when there is none.
func ClientIP(r *http.Request) string {
	if a := reqstate.ClientIP(r); a.IsValid() {
		return a.String()
	}
	return ""
}

// Host returns the host of r for an event: the validated host as is, or
// the raw host (as the chain established it, else r.Host) quoted and cut
// to MaxHost bytes.
func Host(r *http.Request) string {
	rec := reqstate.From(r)
	if h, ok := rec.ValidatedHost(); ok {
		return h
	}
	raw := r.Host
	if c, ok := rec.Conn(); ok {
		raw = c.Host
	}
	return strconv.Quote(Truncate(raw, MaxHost))
}

// Path returns the escaped path of r cut to MaxPath bytes. The escaped
// form has no control bytes or spaces: it cannot break a log line.
func Path(r *http.Request) string {
	if r.URL == nil {
		return ""
	}
	return Truncate(r.URL.EscapedPath(), MaxPath)
}

// IsSlug reports whether s matches ^[a-z][a-z0-9_]*$ and is at most 64
// bytes: the form of every event and reason.
func IsSlug(s string) bool {
	if s == "" || len(s) > 64 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// Truncate shortens s to at most n bytes without splitting a UTF-8
// sequence, marking the cut with "…".
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && s[i]&0xc0 == 0x80 {
		i--
	}
	return s[:i] + "…"
}
