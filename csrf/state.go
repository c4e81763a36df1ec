package csrf

import (
	"bufio"
	"context"
	"errors"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"

	"github.com/bulwarkdev/bulwark/internal/cookie"
	"github.com/bulwarkdev/bulwark/internal/refusal"
	"github.com/bulwarkdev/bulwark/internal/reqstate"
)

type stateKey struct{}

// state is what the token layer knows about one request: the stored
// secret, the secret to send, and whether the cookie must be (re)sent.
//
// It is also the request's context (it embeds the parent) and holds the
// response writer wrapper, so a checked request costs one allocation for
// all three, plus the shallow copy of the request that carries it.
type state struct {
	context.Context
	p      *Protection
	rw     responseWriter
	secure bool

	mu sync.Mutex
	// What the request brought. In session mode it is read lazily.
	loaded    bool
	storedRaw string // the stored value as it was
	stored    [SecretLength]byte
	storedOK  bool          // stored is a well-formed secret
	problem   formatProblem // why the stored cookie is malformed
	loadErr   error         // session store failure
	// What the response will carry.
	secret      [SecretLength]byte
	hasSecret   bool
	needsUpdate bool // cookie mode: send the cookie

	// nested: this state is a context value because the request's record
	// already held another Protection's state (a Handler behind another).
	// shadowed: a nested state exists behind this one, kept in the record.
	nested, shadowed bool
}

// Value makes state a context: it answers for its own key and delegates
// the rest to the parent.
func (s *state) Value(key any) any {
	if _, ok := key.(stateKey); ok {
		return s
	}
	return s.Context.Value(key)
}

// stateOf finds the innermost state of r. The first Handler of a request
// keeps its state in the request's record when there is one (no context
// value, no request copy); Handlers without a record, or behind
// another one, use a context value.
func stateOf(r *http.Request) *state {
	if rec := reqstate.From(r); rec != nil {
		if s, ok := rec.CSRF().(*state); ok {
			if !s.shadowed {
				return s
			}
			// A context state marked nested was made behind s; any other
			// (made before the record existed) is in front of it.
			if c, ok := r.Context().Value(stateKey{}).(*state); ok && c.nested {
				return c
			}
			return s
		}
	}
	s, _ := r.Context().Value(stateKey{}).(*state)
	return s
}

// attachState makes st the state of r: in r's record when it has no
// state yet, else in a context value (a shallow copy of r).
func attachState(r *http.Request, st *state) *http.Request {
	if rec := reqstate.From(r); rec != nil {
		prev, _ := rec.CSRF().(*state)
		if prev == nil {
			reqstate.SetCSRF(rec, st)
			return r
		}
		prev.shadowed, st.nested = true, true
	}
	return r.WithContext(st)
}

// load reads the stored secret once: the cookie (format-checked, as
// Django does), or the session (not format-checked, as in Django: a value
// that is not a well-formed secret simply never matches).
func (s *state) load(r *http.Request) {
	if s.loaded {
		return
	}
	s.loaded = true
	p := s.p
	if p.cfg.UseSessions {
		v, err := p.cfg.Sessions.CSRFSecret(r)
		if err != nil {
			s.loadErr = err
			return
		}
		s.storedRaw = v
		if v != "" && checkFormat(v) == formatOK {
			s.stored, s.storedOK = toSecret(v), true
			s.secret, s.hasSecret = s.stored, true
		}
		return
	}
	v, ok := cookieValue(r, p.cookieName(s.secure))
	if !ok {
		return
	}
	s.storedRaw = v
	if s.problem = checkFormat(v); s.problem != formatOK {
		// Django replaces a malformed stored secret on every request, GET
		// included, and says nothing. We log it: whoever can write our
		// cookies (a sibling subdomain without the __Host- prefix) can force
		// re-keying this way, and operators should be able to see it.
		s.secret, s.hasSecret, s.needsUpdate = newSecret(), true, true
		if s.rw.st == nil {
			return // Check: nothing is sent, so nothing is replaced
		}
		why, slug := "incorrect length", "cookie_incorrect_length"
		if s.problem == formatChars {
			why, slug = "invalid characters", "cookie_invalid_characters"
		}
		refusal.Log(p.log, r, "csrf cookie replaced", "csrf_cookie_replaced", slug,
			refusal.Detail("CSRF cookie has "+why+"."))
		return
	}
	s.stored, s.storedOK = toSecret(v), true
	s.secret, s.hasSecret = s.stored, true
}

// ensureSecret makes sure there is a secret to hand out, creating one if
// needed; in session mode it stores a secret the session does not hold
// yet (Django stores only when the value differs).
func (s *state) ensureSecret(r *http.Request) error {
	s.load(r)
	if s.loadErr != nil {
		return s.loadErr
	}
	if !s.hasSecret {
		s.secret, s.hasSecret = newSecret(), true
	}
	if s.p.cfg.UseSessions && string(s.secret[:]) != s.storedRaw {
		if err := s.p.cfg.Sessions.SetCSRFSecret(r, string(s.secret[:])); err != nil {
			return err
		}
		s.storedRaw = string(s.secret[:])
	}
	return nil
}

// flush adds the cookie to the response headers if it must be sent. It
// runs when the response's headers are about to be written.
func (s *state) flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.needsUpdate || s.p.cfg.UseSessions {
		return
	}
	s.needsUpdate = false
	h := s.rw.ResponseWriter.Header()
	h.Add("Set-Cookie", s.p.newCookie(s.secure, string(s.secret[:])))
	// The response now depends on the request's cookies: shared caches
	// must not serve it to anyone else (Django patches Vary too).
	cookie.Vary(h)
}

// ErrNotProtected is returned by Rotate for a request that did not pass
// through a Protection's Handler with the token layer on.
var ErrNotProtected = errors.New("csrf: request did not pass through a csrf handler with tokens enabled")

// Token returns a fresh masked token for r's secret, creating the secret if
// the client has none, and makes the response (re)send the secret's cookie
// (Django's get_token). Every call returns a different string, all valid
// for the same secret: a compression side channel (BREACH) learns nothing
// from pages that embed them.
//
// Call it before the response's headers are written (render templates into
// a buffer): a cookie for a newly created secret cannot be sent afterwards.
// It returns "" for a request that did not pass through a Protection with
// the token layer on, or when the session store failed (logged).
func Token(r *http.Request) string {
	s := stateOf(r)
	if s == nil {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.ensureSecret(r); err != nil {
		if !loggedBySession(err) {
			s.p.logStoreError(r, err)
		}
		return ""
	}
	if s.rw.wroteHeader && !s.storedOK && !s.p.cfg.UseSessions {
		// The cookie for this new secret can no longer be sent: the form
		// being rendered will be refused. A programming error, so say so.
		s.p.log.LogAttrs(r.Context(), slog.LevelWarn, "csrf token made after the response headers were written",
			slog.String("event", "csrf_cookie_not_sent"),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path))
	}
	s.needsUpdate = true
	return mask(&s.secret)
}

// TemplateField returns a hidden form field carrying Token(r), for
// html/template ({{ .CSRFField }} or a template function), as Django's
// {% csrf_token %} renders it. It is empty when Token(r) is.
func TemplateField(r *http.Request) template.HTML {
	t := Token(r)
	if t == "" {
		return ""
	}
	// t is 64 characters of [A-Za-z0-9]: nothing to escape.
	return template.HTML(`<input type="hidden" name="` + FormField + `" value="` + t + `">`)
}

// Rotate replaces r's secret with a new one (Django's rotate_token), so
// that tokens issued before are refused. Call it when a user logs in: it
// stops an attacker who planted their own secret before the login from
// riding the new session (login CSRF, session fixation of the token).
func Rotate(r *http.Request) error {
	s := stateOf(r)
	if s == nil {
		return ErrNotProtected
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load(r)
	if s.loadErr != nil {
		return s.loadErr
	}
	s.secret, s.hasSecret, s.needsUpdate = newSecret(), true, true
	return s.ensureSecret(r)
}

type failureKey struct{}

// FailureReason returns the reason a request was refused, for a custom
// Config.FailureHandler: Django's reason text (for example "CSRF cookie
// not set." or "Origin checking failed - https://evil.example does not
// match any trusted origins."). It may quote request headers: escape it
// before showing it (html/template does). Empty outside a failure handler.
func FailureReason(r *http.Request) string {
	if e := FailureError(r); e != nil {
		return e.Reason
	}
	return ""
}

// FailureError is FailureReason as an *Error, to branch on its sentinel
// with errors.Is.
func FailureError(r *http.Request) *Error {
	e, _ := r.Context().Value(failureKey{}).(*Error)
	return e
}

// responseWriter sends the cookie, if needed, just before the headers go.
type responseWriter struct {
	http.ResponseWriter
	st          *state
	wroteHeader bool
}

func (w *responseWriter) WriteHeader(code int) {
	if code >= 200 { // 1xx informational responses are not the final headers
		w.headerOut()
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	w.headerOut()
	return w.ResponseWriter.Write(b)
}

// Flush implements http.Flusher: it sends the headers (with the cookie)
// and flushes the underlying writer if it can.
func (w *responseWriter) Flush() { _ = w.FlushError() }

// FlushError is Flush reporting the underlying writer's error, for
// http.ResponseController.
func (w *responseWriter) FlushError() error {
	w.headerOut()
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// ReadFrom keeps the underlying writer's io.ReaderFrom (sendfile for
// http.ServeContent) reachable through the wrapper.
func (w *responseWriter) ReadFrom(src io.Reader) (int64, error) {
	w.headerOut()
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(struct{ io.Writer }{w.ResponseWriter}, src)
}

func (w *responseWriter) headerOut() {
	if !w.wroteHeader {
		w.st.flush()
		w.wroteHeader = true
	}
}

// Hijack implements http.Hijacker when the underlying writer can hijack.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap returns the underlying writer, for http.ResponseController.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
