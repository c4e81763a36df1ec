package headers

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
)

// Headers is a built, immutable headers configuration. It is safe for
// concurrent use.
type Headers struct {
	c *compiled
}

// New validates c and precomputes every header value.
func New(c Config) (*Headers, error) {
	cc, err := c.compile()
	if err != nil {
		return nil, err
	}
	return &Headers{c: cc}, nil
}

// maxStatic bounds the per-request backing array of the nonce path; there
// are at most eight headers.
const maxStatic = 8

// Handler returns next wrapped with the configured headers.
//
// Every header is set before next runs, unless the response already has it
// (an outer layer set it), so next can replace one (Header().Set) or remove
// it (Header().Del): that is how a handler exempts a page from
// X-Frame-Options or sends its own policy. This is Django's setdefault in
// the response phase, done the net/http way.
//
// When a CSP or report-only policy contains NonceSentinel, the response is
// also wrapped so that, when the headers are written, a policy header still
// carrying the value this handler set is re-rendered with the nonce if
// Nonce was called during the request. The wrapper implements http.Flusher
// and http.Hijacker and has Unwrap for http.ResponseController.
func (hs *Headers) Handler(next http.Handler) http.Handler {
	c := hs.c
	if c.csp == nil && c.cspRO == nil {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			// One allocation for every header's value slice. Each header
			// gets a length-1, capacity-1 window of it, so a handler's
			// Header().Add copies instead of writing into a neighbour.
			backing := make([]string, len(c.static))
			// A response nobody has touched yet (the usual case) needs no
			// lookup before each assignment.
			fresh := len(h) == 0
			for i, f := range c.static {
				if !fresh {
					if _, ok := h[f.name]; ok {
						continue
					}
				}
				backing[i] = f.value
				h[f.name] = backing[i : i+1 : i+1]
			}
			next.ServeHTTP(w, r)
		})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := &state{nw: nonceWriter{ResponseWriter: w}}
		st.nw.st = st
		h := w.Header()
		for i, f := range c.static {
			if _, ok := h[f.name]; ok {
				continue
			}
			st.backing[i] = f.value
			h[f.name] = st.backing[i : i+1 : i+1]
		}
		st.slots[0] = slot{name: headerCSP, policy: c.csp}
		st.slots[1] = slot{name: headerCSPRO, policy: c.cspRO}
		for i := range st.slots {
			s := &st.slots[i]
			if s.policy == nil {
				continue
			}
			if _, ok := h[s.name]; ok {
				s.policy = nil
				continue
			}
			s.set(h, s.policy)
		}
		r = r.WithContext(context.WithValue(r.Context(), nonceKey{}, st))
		next.ServeHTTP(&st.nw, r)
		st.nw.finish()
	})
}

// slot tracks one CSP header on the nonce path.
type slot struct {
	name   string
	policy *compiledPolicy // nil: not ours to render
	value  [1]string       // backing of the header value we set
}

// set puts cp's nonce-less rendering on h (or removes the header when it
// renders empty) and remembers it as ours.
func (s *slot) set(h http.Header, cp *compiledPolicy) {
	s.policy = cp
	if cp.plain == "" && cp.parts == nil {
		delete(h, s.name)
		s.policy = nil
		return
	}
	s.value[0] = cp.plain
	h[s.name] = s.value[:1:1]
}

// ours reports whether h still carries the exact slice s set: not replaced
// or removed by the handler.
func (s *slot) ours(h http.Header) bool {
	v := h[s.name]
	return s.policy != nil && len(v) == 1 && &v[0] == &s.value[0]
}

type nonceKey struct{}

// state is the per-request nonce state, allocated once with its writer.
type state struct {
	once    sync.Once
	nonce   atomic.Pointer[string] // set once, when first read
	backing [maxStatic]string
	slots   [2]slot
	nw      nonceWriter
}

func (st *state) get() string {
	st.once.Do(func() {
		var b [16]byte
		rand.Read(b[:]) // never fails (crypto/rand.Read aborts the program instead)
		n := base64.RawURLEncoding.EncodeToString(b[:])
		st.nonce.Store(&n)
	})
	return *st.nonce.Load()
}

// Nonce returns the request's CSP nonce (22 base64url characters from 16
// random bytes), generating it on first use; templates put it in their
// <script nonce="..."> and <style nonce="..."> attributes. Reading it is
// what makes NonceSentinel appear in the policies of this response: a
// response that never calls Nonce sends its policies without a nonce.
//
// It returns "" when r did not pass through a Headers handler whose CSP or
// CSPReportOnly uses NonceSentinel.
func Nonce(r *http.Request) string {
	st, ok := r.Context().Value(nonceKey{}).(*state)
	if !ok {
		return ""
	}
	return st.get()
}

// ErrHeadersWritten is returned by OverrideCSP and OverrideCSPReportOnly
// when the response headers have already been sent.
var ErrHeadersWritten = errors.New("headers: response headers already written")

// OverrideCSP replaces the Content-Security-Policy of the response being
// written to w with p (Django's @csp_override). An empty p sends no header
// (Django's csp_override({})). NonceSentinel in p becomes the request's
// nonce if it was read, as for the configured policy. p is validated like a
// configured policy; an invalid p leaves the response unchanged and returns
// the error. Call it before writing the response.
//
// A handler that needs no nonce may as well set or delete the header
// itself.
func OverrideCSP(w http.ResponseWriter, p Policy) error { return override(w, 0, p) }

// OverrideCSPReportOnly is OverrideCSP for
// Content-Security-Policy-Report-Only (Django's @csp_report_only_override).
func OverrideCSPReportOnly(w http.ResponseWriter, p Policy) error { return override(w, 1, p) }

func override(w http.ResponseWriter, i int, p Policy) error {
	name := headerCSP
	if i == 1 {
		name = headerCSPRO
	}
	cp := &compiledPolicy{}
	if len(p) > 0 {
		var err error
		if cp, err = compilePolicy(p, ""); err != nil {
			return err
		}
	}
	if nw := findNonceWriter(w); nw != nil {
		if nw.written {
			return ErrHeadersWritten
		}
		nw.st.slots[i].set(w.Header(), cp)
		return nil
	}
	if cp.plain == "" {
		w.Header().Del(name)
	} else {
		w.Header().Set(name, cp.plain)
	}
	return nil
}

func findNonceWriter(w http.ResponseWriter) *nonceWriter {
	for w != nil {
		if nw, ok := w.(*nonceWriter); ok {
			return nw
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return nil
		}
		w = u.Unwrap()
	}
	return nil
}

// nonceWriter renders the nonce into the policies when headers are sent.
type nonceWriter struct {
	http.ResponseWriter
	st      *state
	written bool
}

// finish renders the policy headers once, before the header is written.
func (nw *nonceWriter) finish() {
	if nw.written {
		return
	}
	nw.written = true
	st := nw.st
	nonce := st.nonce.Load()
	if nonce == nil {
		// Nonce was not read: the nonce-less values already in place
		// are the right ones (Django drops the sentinel too).
		return
	}
	h := nw.ResponseWriter.Header()
	for i := range st.slots {
		s := &st.slots[i]
		if s.ours(h) {
			s.value[0] = s.policy.withNonce(*nonce)
		}
	}
}

func (nw *nonceWriter) WriteHeader(code int) {
	// 1xx responses (103 Early Hints) are sent before the final headers
	// are settled; only 101 Switching Protocols is final.
	if code >= 200 || code == http.StatusSwitchingProtocols {
		nw.finish()
	}
	nw.ResponseWriter.WriteHeader(code)
}

func (nw *nonceWriter) Write(b []byte) (int, error) {
	nw.finish()
	return nw.ResponseWriter.Write(b)
}

// Flush implements http.Flusher.
func (nw *nonceWriter) Flush() {
	nw.finish()
	http.NewResponseController(nw.ResponseWriter).Flush()
}

// Hijack implements http.Hijacker when the underlying writer supports it.
func (nw *nonceWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nw.finish()
	return http.NewResponseController(nw.ResponseWriter).Hijack()
}

// ReadFrom keeps the underlying writer's io.ReaderFrom (sendfile) path.
func (nw *nonceWriter) ReadFrom(src io.Reader) (int64, error) {
	nw.finish()
	if rf, ok := nw.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(struct{ io.Writer }{nw.ResponseWriter}, src)
}

// Unwrap returns the underlying ResponseWriter, for http.ResponseController.
func (nw *nonceWriter) Unwrap() http.ResponseWriter { return nw.ResponseWriter }
