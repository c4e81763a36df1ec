package session

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bulwarkdev/bulwark/internal/cookie"
	"github.com/bulwarkdev/bulwark/internal/refusal"
	"github.com/bulwarkdev/bulwark/internal/reqstate"
)

// Errors returned by the session functions.
var (
	// ErrNoSession: the request did not go through a Manager's Handler.
	ErrNoSession = errors.New("session: no session in request context (is the handler wrapped by Manager.Handler?)")
	// ErrResponseStarted: the session was changed after the response
	// header was written; the change cannot be saved (see Manager).
	ErrResponseStarted = errors.New("session: response already started, session changes can no longer be saved")
	// ErrStore wraps a store failure: the request ends in 503.
	ErrStore = errors.New("session: store failed")
)

// Manager is the session middleware. Build it with New; it is immutable
// and safe for concurrent use.
//
// # When sessions are saved
//
// The session is loaded lazily, the first time the handler reads or writes
// it, and saved when the response starts: at the handler's first
// WriteHeader, Write or Flush, or when it returns without writing. Until
// then nothing reaches the client, so a store failure can still replace
// the response with a 503 (fail closed: a response whose session change
// was lost is never sent). A handler that streams therefore commits its
// session when the stream starts; changes after that are refused with
// ErrResponseStarted rather than silently lost. Responses with status 500
// or above save nothing and set no cookie (Django's rule). A connection
// hijacked for a WebSocket commits at Hijack, without a cookie: establish
// the session before upgrading.
type Manager struct {
	store       Store
	cookies     CookieStore
	ck          resolved
	lifetime    time.Duration
	idle        time.Duration
	browser     bool
	saveEvery   bool
	storeSecret []byte
	timeout     time.Duration
	log         *slog.Logger
	now         func() time.Time
}

// New validates c and returns a Manager.
func New(c Config) (*Manager, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	ck, _ := c.Cookie.resolve()
	m := &Manager{
		store: c.Store, cookies: c.CookieStore, ck: ck,
		lifetime: c.Lifetime, idle: c.IdleTimeout, browser: c.BrowserSession,
		saveEvery: c.SaveEveryRequest, timeout: c.StoreTimeout, log: c.Logger, now: c.Now,
	}
	if m.timeout == 0 {
		m.timeout = DefaultStoreTimeout
	}
	if len(c.StoreKeySecret) > 0 {
		m.storeSecret = append([]byte(nil), c.StoreKeySecret...)
	}
	if m.lifetime == 0 {
		m.lifetime = DefaultLifetime
	}
	if m.log == nil {
		m.log = slog.Default()
	}
	if m.now == nil {
		m.now = time.Now
	}
	return m, nil
}

// CookieName returns the session cookie's name.
func (m *Manager) CookieName() string { return m.ck.name }

// CookieDomain returns the session cookie's Domain attribute ("" for a
// host-only cookie). Package csrf widens its Referer check to it, as
// Django does with SESSION_COOKIE_DOMAIN under CSRF_USE_SESSIONS.
func (m *Manager) CookieDomain() string { return m.ck.domain }

type ctxKey struct{}

// state is everything about one request's session. It is also the
// request's context (it embeds the parent and answers Value(ctxKey{})) and
// holds the wrapping ResponseWriter, so the whole middleware costs one
// allocation plus the request copy.
type state struct {
	context.Context
	m   *Manager
	req *http.Request
	w   writer

	mu        sync.Mutex
	cookieVal string // the session cookie as received; "" when absent
	hadCookie bool
	loaded    bool
	accessed  bool
	modified  bool
	committed bool
	err       error // sticky store failure
	logged    bool

	id  string // current session id (server-side stores); "" before one is made
	key string // store key of the current session; "" when none
	rec record
	kv  [4]kv // backing array of rec.values for small sessions

	scratch [idLen]byte
	call    callCtx // the context of the store call in progress

	// nested: this state is a context value because the request's record
	// already held another session's state (a Handler behind another).
	// shadowed: a nested state exists behind this one, kept in the record.
	nested, shadowed bool
}

// Value answers ctxKey{} with the state, everything else from the parent.
func (st *state) Value(k any) any {
	if k == (ctxKey{}) {
		return st
	}
	return st.Context.Value(k)
}

// stateOf finds the innermost session state of r. The first Handler of
// a request keeps its state in the request's record when there is one (no
// context value, no request copy); Handlers without a record,
// or behind another one, use a context value.
func stateOf(r *http.Request) (*state, error) {
	if rec := reqstate.From(r); rec != nil {
		if st, ok := rec.Session().(*state); ok {
			if !st.shadowed {
				return st, nil
			}
			// A context state marked nested was made behind st; any other
			// (made before the record existed) is in front of it.
			if c, ok := r.Context().Value(ctxKey{}).(*state); ok && c.nested {
				return c, nil
			}
			return st, nil
		}
	}
	if st, ok := r.Context().Value(ctxKey{}).(*state); ok {
		return st, nil
	}
	return nil, ErrNoSession
}

// Handler returns next wrapped in the session middleware.
func (m *Manager) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := &state{Context: r.Context(), m: m, req: r}
		st.w = writer{ResponseWriter: w, st: st}
		st.cookieVal, st.hadCookie = cookieValue(r.Header, m.ck.name)
		if rec := reqstate.From(r); rec != nil {
			if prev, _ := rec.Session().(*state); prev == nil {
				reqstate.SetSession(rec, st)
			} else {
				prev.shadowed, st.nested = true, true
				r = r.WithContext(st)
			}
		} else {
			r = r.WithContext(st)
		}
		next.ServeHTTP(&st.w, r)
		st.w.finish()
		st.w.release()
	})
}

// cookieValue finds cookie name in the Cookie headers without allocating.
// With several cookies of that name, the first wins (the browser sends
// the most specific path first).
func cookieValue(h http.Header, name string) (string, bool) {
	for _, line := range h["Cookie"] {
		for len(line) > 0 {
			part := line
			if i := strings.IndexByte(line, ';'); i >= 0 {
				part, line = line[:i], line[i+1:]
			} else {
				line = ""
			}
			part = strings.Trim(part, " \t")
			if len(part) > len(name) && part[len(name)] == '=' && part[:len(name)] == name {
				v := part[len(name)+1:]
				if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
					v = v[1 : len(v)-1]
				}
				return v, true
			}
		}
	}
	return "", false
}

// idLen is the length of a session id in the cookie: 32 random bytes in
// unpadded base64url.
const idLen = 43

func newID() string {
	var b [32]byte
	rand.Read(b[:]) // never fails (crypto/rand panics rather than return short)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// wellFormedID reports whether s can be a session id. Anything else is
// treated as no session without touching the store.
func wellFormedID(s string) bool {
	if len(s) != idLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// storeKey is what a Store sees instead of the id: base64url(SHA-256(id)),
// or HMAC-SHA256 with StoreKeySecret. A store dump, a slow-query log or a
// store key in an error message therefore never yields a usable cookie,
// and a store's lookup (an index or hash-table probe, not constant time)
// compares hashes, so its timing says nothing about valid ids.
//
// scratch is heap memory the caller owns (the request state): hashing from
// it avoids an allocation per request.
func (m *Manager) storeKey(id string, scratch *[idLen]byte) string {
	var sum [32]byte
	if m.storeSecret != nil {
		mac := hmac.New(sha256.New, m.storeSecret)
		mac.Write([]byte(id))
		copy(sum[:], mac.Sum(nil)) // not mac.Sum(sum[:0]): sum would escape
	} else {
		sum = sha256.Sum256(scratch[:copy(scratch[:], id)])
	}
	var out [43]byte
	base64.RawURLEncoding.Encode(out[:], sum[:])
	return string(out[:])
}

// load reads the session on first use. The caller holds st.mu.
func (st *state) load() error {
	if st.loaded {
		return st.err
	}
	st.loaded, st.accessed = true, true
	m := st.m
	now := m.now()
	st.rec = record{created: now.Unix()}
	if !st.hadCookie || st.cookieVal == "" {
		return nil
	}
	var (
		data  []byte
		found bool
		err   error
		key   string
	)
	if m.store != nil {
		if !wellFormedID(st.cookieVal) {
			return nil
		}
		key = m.storeKey(st.cookieVal, &st.scratch)
		data, found, err = m.store.Find(st.storeCtx(), key)
	} else {
		key, data, found, err = m.cookies.Open(st.storeCtx(), st.cookieVal)
	}
	st.call.end()
	if err != nil {
		st.fail("load_failed", err)
		return st.err
	}
	if !found {
		// Unknown, expired or forged: never adopted. A new id is made
		// when the session is saved, so an id an attacker planted in the
		// victim's browser is never the id of the victim's session.
		return nil
	}
	rec, err := decodeRecord(data, st.kv[:])
	if err != nil || st.expired(&rec, now) {
		return nil
	}
	st.rec = rec
	st.key = key
	if m.store != nil {
		st.id = st.cookieVal
	}
	return nil
}

// idleFor returns the idle timeout applying to rec (0: none).
func (m *Manager) idleFor(rec *record) time.Duration {
	if rec.custom && rec.exp.Idle > 0 {
		return rec.exp.Idle
	}
	return m.idle
}

// deadline returns the absolute end of rec.
func (m *Manager) deadline(rec *record) time.Time {
	if rec.custom && !rec.exp.Deadline.IsZero() {
		return rec.exp.Deadline
	}
	return time.Unix(rec.created, 0).Add(m.lifetime)
}

// expiry is when rec ends if saved at now.
func (m *Manager) expiry(rec *record, now time.Time) time.Time {
	e := m.deadline(rec)
	if idle := m.idleFor(rec); idle > 0 && now.Add(idle).Before(e) {
		e = now.Add(idle)
	}
	return e
}

// expired re-checks expiry on load, in case a store keeps records a little
// past their expiry (coarse clocks) or the configuration shortened it.
func (st *state) expired(rec *record, now time.Time) bool {
	m := st.m
	if !now.Before(m.deadline(rec)) {
		return true
	}
	idle := m.idleFor(rec)
	return idle > 0 && !now.Before(time.Unix(rec.saved, 0).Add(idle))
}

func (m *Manager) browserSession(rec *record) bool {
	if rec.custom {
		return rec.exp.BrowserSession
	}
	return m.browser
}

// fail records a store failure: the response becomes a 503 and one
// session_store_error event is logged. The caller holds st.mu.
func (st *state) fail(reason string, err error) {
	if st.err == nil {
		st.err = fmt.Errorf("%w: %w", ErrStore, err)
	}
	if st.logged {
		return
	}
	st.logged = true
	r := st.req
	// Never the session id, the cookie or the query string.
	refusal.LogLevel(st.m.log, r, slog.LevelError, "session store error", "session_store_error", reason,
		slog.String("error", err.Error()))
}

// commit runs when the response starts, with its status. It returns 0 to
// let the response through, or the status that replaces it.
func (st *state) commit(status int) int {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.committed = true
	m := st.m
	h := st.w.ResponseWriter.Header()

	if !st.loaded && m.saveEvery && st.hadCookie {
		// Django's SESSION_SAVE_EVERY_REQUEST re-saves a session the
		// handler did not touch; that needs its data.
		st.load()
		st.accessed = false
	}
	if st.err != nil {
		return http.StatusServiceUnavailable
	}
	var empty bool
	if st.loaded {
		empty = st.id == "" && st.key == "" && len(st.rec.values) == 0
	} else {
		// Not read: the cookie is taken at its word, except a malformed
		// one, which can never be a session (Django likewise deletes a
		// cookie too short to be a key).
		empty = m.store != nil && !wellFormedID(st.cookieVal)
	}
	if st.hadCookie && empty {
		st.deleteCookie(h)
		cookie.Vary(h)
		return 0
	}
	if st.accessed {
		cookie.Vary(h)
	}
	if !st.loaded || empty {
		return 0
	}
	now := m.now()
	save := st.modified || m.saveEvery
	if !save {
		if idle := m.idleFor(&st.rec); idle > 0 {
			// Slide the idle timeout, at most once per minute.
			save = now.Sub(time.Unix(st.rec.saved, 0)) >= min(time.Minute, idle/8)
		}
	}
	if !save || status >= 500 {
		return 0
	}
	st.rec.saved = now.Unix()
	exp := m.expiry(&st.rec, now)
	data := st.rec.encode()
	var value string
	if m.store != nil {
		var err error
		found := true
		if st.id == "" {
			st.id = newID()
			st.key = m.storeKey(st.id, &st.scratch)
			err = m.store.Commit(st.storeCtx(), st.key, data, exp)
			st.call.end()
		} else {
			found, err = m.update(st, st.key, data, exp)
		}
		if err != nil {
			st.fail("save_failed", err)
			return http.StatusServiceUnavailable
		}
		if !found {
			// Deleted by a concurrent logout or Renew since this request
			// loaded it: saving would resurrect it (Django's
			// SessionInterrupted, a 400).
			st.fail("session_interrupted", errInterrupted)
			return http.StatusBadRequest
		}
		value = st.id
	} else {
		if st.key == "" {
			st.key = m.storeKey(newID(), &st.scratch)
		}
		v, err := m.cookies.Seal(st.storeCtx(), st.key, data, exp)
		st.call.end()
		if err != nil {
			if errors.Is(err, ErrRevoked) {
				// Logged out by a concurrent request: do not resurrect
				// the session (Django's SessionInterrupted, a 400).
				st.fail("session_interrupted", err)
				return http.StatusBadRequest
			}
			if errors.Is(err, ErrCookieTooLarge) {
				// A programming error, not an outage: 500, but still
				// one event and no partial response.
				st.fail("cookie_too_large", err)
				return http.StatusInternalServerError
			}
			st.fail("save_failed", err)
			return http.StatusServiceUnavailable
		}
		value = v
	}
	st.setCookie(h, value, exp, now)
	cookie.Vary(h) // always with the cookie (CVE-2026-35192)
	return 0
}

var errInterrupted = errors.New("session: record deleted during the request (concurrent logout or renew)")

// update replaces an existing record, and only an existing one. Each
// store call has its own deadline.
func (m *Manager) update(st *state, key string, data []byte, exp time.Time) (bool, error) {
	if u, ok := m.store.(Updater); ok {
		defer st.call.end()
		return u.Update(st.storeCtx(), key, data, exp)
	}
	_, found, err := m.store.Find(st.storeCtx(), key)
	st.call.end()
	if err != nil || !found {
		return false, err
	}
	defer st.call.end()
	return true, m.store.Commit(st.storeCtx(), key, data, exp)
}

// storeCtx arms the state's call context for one store call: the
// request's context with the StoreTimeout deadline. The caller ends it
// with st.call.end() when the call returns.
func (st *state) storeCtx() context.Context {
	return st.call.begin(st.Context, st.m.timeout)
}

// setCookie writes the session cookie in Django's exact format.
func (st *state) setCookie(h http.Header, value string, exp, now time.Time) {
	m := st.m
	c := cookie.Cookie{
		Name: m.ck.name, Value: value, Domain: m.ck.domain, Path: m.ck.path,
		SameSite: m.ck.sameSite, Secure: m.ck.secure, HttpOnly: m.ck.httpOnly,
	}
	if !m.browserSession(&st.rec) {
		age := int(exp.Sub(now) / time.Second)
		if age < 0 {
			age = 0
		}
		c.MaxAge, c.HasMaxAge = age, true
		c.ExpiresAt = now.Add(time.Duration(age) * time.Second)
	}
	var buf [256]byte // one allocation: the header string
	h["Set-Cookie"] = append(h["Set-Cookie"], string(c.Append(buf[:0])))
}

// deleteCookie is Django's delete_cookie(name, path, domain, samesite).
func (st *state) deleteCookie(h http.Header) {
	m := st.m
	c := cookie.Cookie{
		Name: m.ck.name, Domain: m.ck.domain, Path: m.ck.path, SameSite: m.ck.sameSite,
		Expires: cookie.Epoch, HasMaxAge: true,
		Secure: m.ck.secure || m.ck.sameSite == "None" || hasSecurePrefix(m.ck.name),
	}
	h["Set-Cookie"] = append(h["Set-Cookie"], c.String())
}

func hasSecurePrefix(name string) bool {
	return len(name) >= 7 && name[:7] == "__Host-" || len(name) >= 9 && name[:9] == "__Secure-"
}

// writer holds back the response until the session is committed.
type writer struct {
	http.ResponseWriter
	st      *state
	started bool
	failed  bool // the response was replaced; the handler's output is dropped

	// The headers set in front of the Handler (security headers, HSTS),
	// taken when the handler first asks for the header map, so that a
	// replaced response keeps them and drops only what the handler added.
	// Until the handler asks, the map holds only those. pre is nil when
	// the map was empty then; it comes from a pool (the state stays small
	// and the common request allocates nothing for it) and goes back when
	// the Handler returns.
	snapped bool
	pre     *snapshot
}

type headerEntry struct {
	name   string
	values []string
}

type snapshot struct{ e []headerEntry }

var snapshots = sync.Pool{New: func() any { return &snapshot{e: make([]headerEntry, 0, 16)} }}

// Header returns the response's header map, remembering first what the
// layers in front of the Handler had set.
func (w *writer) Header() http.Header {
	h := w.ResponseWriter.Header()
	if !w.snapped {
		w.snapped = true
		if len(h) > 0 {
			s := snapshots.Get().(*snapshot)
			for k, v := range h {
				// The slice is kept, not its contents: a handler replacing
				// a header replaces the map entry, and the entry comes back.
				s.e = append(s.e, headerEntry{k, v})
			}
			w.pre = s
		}
	}
	return h
}

// release returns the snapshot to the pool. The response has started by
// then (finish), so restore can no longer run.
func (w *writer) release() {
	s := w.pre
	if s == nil {
		return
	}
	w.pre = nil
	clear(s.e) // keep no strings of this response alive
	if cap(s.e) <= 64 {
		s.e = s.e[:0]
		snapshots.Put(s)
	}
}

// restore brings the header map back to what the layers in front of the
// Handler had set, dropping everything the handler (or a layer behind the
// Handler) added or changed.
func (w *writer) restore() {
	h := w.ResponseWriter.Header()
	if !w.snapped {
		return // the handler never touched the map
	}
	clear(h)
	if w.pre == nil {
		return // nothing was set in front of the Handler
	}
	for _, e := range w.pre.e {
		h[e.name] = e.values[:len(e.values):len(e.values)]
	}
}

// errReplaced is what the handler's Write gets once its response was
// replaced by an error response.
var errReplaced = errors.New("session: response replaced after a session store failure")

// WriteHeader commits the session before the first final status goes
// out, and replaces the response when the commit fails.
func (w *writer) WriteHeader(code int) {
	if w.started {
		if !w.failed {
			w.ResponseWriter.WriteHeader(code) // let net/http report the superfluous call
		}
		return
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		w.ResponseWriter.WriteHeader(code) // informational: not the response yet
		return
	}
	w.started = true
	if replace := w.st.commit(code); replace != 0 {
		w.failed = true
		w.restore()
		writeError(w.ResponseWriter, replace)
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write commits (an implicit 200) before the first byte; after a replaced
// response the handler's writes are dropped with errReplaced.
func (w *writer) Write(b []byte) (int, error) {
	if !w.started {
		w.WriteHeader(http.StatusOK)
	}
	if w.failed {
		return 0, errReplaced
	}
	return w.ResponseWriter.Write(b)
}

// Flush commits the session, then flushes.
func (w *writer) Flush() {
	if !w.started {
		w.WriteHeader(http.StatusOK)
	}
	if w.failed {
		return
	}
	http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack commits the session (status 101: the store is written, but no
// cookie can be sent on a hijacked connection, so a session created or
// renewed here does not reach the client), then hijacks. A store failure
// fails the hijack with a 503.
func (w *writer) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if !w.started {
		w.started = true
		if replace := w.st.commit(http.StatusSwitchingProtocols); replace != 0 {
			w.failed = true
			w.restore()
			writeError(w.ResponseWriter, replace)
			return nil, nil, errReplaced
		}
	}
	if w.failed {
		return nil, nil, errReplaced
	}
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// finish commits a handler that wrote nothing (an implicit 200).
func (w *writer) finish() {
	if !w.started {
		w.WriteHeader(http.StatusOK)
	}
}

// writeError replaces the handler's response: its headers (cookies
// included) were dropped by restore, the headers set in front of the
// Handler (security headers) stay, and the body is the status text.
func writeError(w http.ResponseWriter, code int) {
	h := w.Header()
	// Whatever described a body other than ours goes, whoever set it.
	for _, k := range [...]string{"Content-Encoding", "Content-Range", "Content-Disposition", "Etag", "Last-Modified", "Location", "Set-Cookie", "Trailer"} {
		delete(h, k)
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	text := http.StatusText(code)
	h.Set("Content-Length", strconv.Itoa(len(text)))
	w.WriteHeader(code)
	w.Write([]byte(text))
}
