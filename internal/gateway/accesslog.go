package gateway

import (
	"bufio"
	"maps"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/bulwarkdev/bulwark/internal/refusal"
	"github.com/bulwarkdev/bulwark/internal/reqstate"
	"github.com/bulwarkdev/bulwark/trustedproxy"
)

// statusWriter records the status and the body size for the access log and
// the metrics. Unwrap lets http.ResponseController (used by ReverseProxy
// for flushing and deadlines) reach the connection's writer.
//
// It also owns the gateway's refusals: a status of 400 or more that the
// gateway itself answers (not one proxied from the upstream) gets
// X-Request-Id and, when [pages] has a template for it, the configured
// page instead of the layer's body (see PagesConfig).
type statusWriter struct {
	http.ResponseWriter
	code  int
	bytes int64
	body  *clientBody // set by bufferer.guard for a request with a body

	rec      *reqstate.Record // holds the request id
	accept   string           // the request's Accept, for the page's kind
	pages    *pages
	upstream bool // the proxy is writing the upstream's response
	replaced bool // a page was written: the layer's body is dropped

	// pre1xx is the header as it was before the first informational
	// answer (103 Early Hints) was passed on: httputil.ReverseProxy
	// clears the header after writing one, which would drop what the
	// edge set (HSTS, CSP, the layers' cookies) from the final answer.
	// WriteHeader puts it back in front of the upstream's.
	pre1xx http.Header
}

// before1xx keeps the header as the edge set it, before the proxy passes
// an informational answer on (see pre1xx). Only the first call counts.
func (w *statusWriter) before1xx() {
	if w.pre1xx == nil {
		w.pre1xx = maps.Clone(w.Header())
	}
}

// restore1xx puts the edge's header back (see pre1xx): the edge's
// values first, then the upstream's final answer's.
func (w *statusWriter) restore1xx() {
	h := w.Header()
	for k, v := range w.pre1xx {
		if up, ok := h[k]; ok {
			h[k] = append(slices.Clip(v), up...)
		} else {
			h[k] = v
		}
	}
	w.pre1xx = nil
}

func (w *statusWriter) WriteHeader(code int) {
	if w.replaced {
		return
	}
	if w.code == 0 && code >= 200 {
		if w.pre1xx != nil {
			w.restore1xx()
		}
		w.code = code
		if code >= 400 && !w.upstream && w.refusal(code) {
			return
		}
		dedupe(w.Header())
	}
	w.ResponseWriter.WriteHeader(code)
}

// refusal marks a response the gateway answers itself with the request
// id and writes the configured page for it, if any (reporting true).
func (w *statusWriter) refusal(code int) bool {
	id, ok := w.rec.RequestID()
	if !ok {
		return false
	}
	h := w.Header()
	h.Set("X-Request-Id", id)
	body, ctype, ok := w.pages.render(code, w.accept, id)
	if !ok {
		return false
	}
	w.replaced = true
	h.Set("Content-Type", ctype)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	if w.pages.negotiated(code) {
		h.Add("Vary", "Accept")
	}
	dedupe(h)
	w.ResponseWriter.WriteHeader(code)
	n, _ := w.ResponseWriter.Write(body)
	w.bytes += int64(n)
	return true
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.replaced {
		return len(b), nil // the layer's own body, replaced by the page
	}
	if w.code == 0 {
		if w.pre1xx != nil {
			w.restore1xx()
		}
		w.code = http.StatusOK
		dedupe(w.Header())
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Flush() {
	if w.replaced {
		return
	}
	if w.code == 0 {
		w.code = http.StatusOK
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// findStatusWriter returns the statusWriter under w (layers may have
// wrapped it; http.ResponseController's Unwrap convention finds it).
func findStatusWriter(w http.ResponseWriter) *statusWriter {
	for i := 0; i < 8 && w != nil; i++ {
		if sw, ok := w.(*statusWriter); ok {
			return sw
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return nil
		}
		w = u.Unwrap()
	}
	return nil
}

var statusWriters = sync.Pool{New: func() any { return new(statusWriter) }}

// observe wraps the whole tree: it is the top of the chain, where the
// request's record is created; it counts the answer and writes the access
// log line with the facts the chain established in the record or, for a
// request that never reached the resolver (an ACME challenge), the facts
// tp resolves. It gives every request its id (see newRequestID), kept in
// the record, which the refusal pages (pg), the refusal events and the
// access log share.
func observe(next http.Handler, access *accessLog, m *metrics, tp *trustedproxy.Resolver, pg *pages) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		r, rec := reqstate.Attach(r)
		reqstate.SetRequestID(rec, newRequestID())
		sw := statusWriters.Get().(*statusWriter)
		*sw = statusWriter{ResponseWriter: w, rec: rec, pages: pg}
		reqstate.SetEdge(rec, sw)
		if pg != nil {
			sw.accept = r.Header.Get("Accept")
		}
		defer func() {
			code := sw.code
			if code == 0 {
				code = http.StatusOK
			}
			m.request(code)
			if access != nil {
				var f trustedproxy.Facts
				if c, ok := rec.Conn(); ok {
					f = trustedproxy.Facts(c)
				} else {
					f = resolveFacts(tp, r)
				}
				// An unvalidated host is the client's own words: bounded.
				host, ok := rec.ValidatedHost()
				if !ok {
					host = refusal.Truncate(f.Host, 256)
				}
				// Path only: a query string can hold tokens and personal
				// data; cookies and Authorization are never logged.
				e := accessEntry{
					method:   r.Method,
					host:     host,
					path:     refusal.Truncate(r.URL.Path, 2048),
					status:   code,
					bytes:    sw.bytes,
					duration: time.Since(start),
					clientIP: f.ClientIP,
					proto:    r.Proto,
				}
				e.id, e.hasID = rec.RequestIDBytes()
				access.write(r, &e)
			}
			reqstate.SetEdge(rec, nil)
			*sw = statusWriter{}
			statusWriters.Put(sw)
		}()
		next.ServeHTTP(sw, r)
	})
}

// resolveFacts gives the access log the facts of a request the resolver
// of the chain did not see: the client behind a trusted proxy, not the
// proxy. From any other peer the connection's facts are the chain's
// facts, and the resolver is not asked (it would log the untrusted peer's
// forwarded headers again). A malformed forwarded header leaves the peer.
func resolveFacts(tp *trustedproxy.Resolver, r *http.Request) trustedproxy.Facts {
	f := trustedproxy.FactsOf(r)
	if tp != nil && tp.IsTrusted(f.Peer) {
		if rf, err := tp.Facts(r); err == nil {
			return rf
		}
	}
	return f
}

// singleHeaders are the security headers that must leave exactly once.
// The edge sets them before the upstream's response headers are copied
// (which appends), so the first value is the edge's: the edge wins. The
// operator states the site-wide policy at the gateway; two values would be
// read differently by different clients (browsers take the first HSTS
// header, some caches and scanners the last). Content-Security-Policy is
// not here: several policies are all enforced, so an upstream's policy can
// only tighten the edge's.
var singleHeaders = [...]string{
	"Strict-Transport-Security",
	"X-Content-Type-Options",
	"X-Frame-Options",
	"Referrer-Policy",
	"Cross-Origin-Opener-Policy",
	"Cross-Origin-Resource-Policy",
	"Permissions-Policy",
}

// isSingleHeader reports whether k is one of singleHeaders.
func isSingleHeader(k string) bool {
	switch k {
	case "Strict-Transport-Security", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy",
		"Cross-Origin-Opener-Policy", "Cross-Origin-Resource-Policy", "Permissions-Policy":
		return true
	}
	return false
}

func dedupe(h http.Header) {
	for _, k := range singleHeaders {
		if v := h[k]; len(v) > 1 {
			h[k] = v[:1:1]
		}
	}
}

// bufferedFile batches access log lines into few writes (one syscall per
// request would cost more than the rest of the gateway's own work). It is
// flushed every flushEvery and on Close; a crash loses at most that much.
type bufferedFile struct {
	mu   sync.Mutex
	w    *bufio.Writer
	f    *os.File
	stop chan struct{}
	done chan struct{}
}

const flushEvery = time.Second

func newBufferedFile(f *os.File) *bufferedFile {
	b := &bufferedFile{w: bufio.NewWriterSize(f, 64<<10), f: f, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(b.done)
		t := time.NewTicker(flushEvery)
		defer t.Stop()
		for {
			select {
			case <-b.stop:
				return
			case <-t.C:
				b.mu.Lock()
				_ = b.w.Flush()
				b.mu.Unlock()
			}
		}
	}()
	return b
}

func (b *bufferedFile) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w.Write(p)
}

func (b *bufferedFile) Close() error {
	close(b.stop)
	<-b.done
	b.mu.Lock()
	defer b.mu.Unlock()
	err := b.w.Flush()
	if cerr := b.f.Close(); err == nil {
		err = cerr
	}
	return err
}
