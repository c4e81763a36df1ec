package session_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/reqstate"
	"github.com/bulwarkdev/bulwark/internal/reqstate/reqstatetest"

	"github.com/bulwarkdev/bulwark/csrf"
	"github.com/bulwarkdev/bulwark/session"
	"github.com/bulwarkdev/bulwark/session/cookiestore"
	"github.com/bulwarkdev/bulwark/session/memstore"
)

var _ csrf.SessionSecrets = (*session.Manager)(nil)

// flakyStore is a Store that fails on demand and counts its calls.
type flakyStore struct {
	session.Store
	failing              atomic.Bool
	finds, commits, dels atomic.Int64
}

var errDown = errors.New("store is down")

func (s *flakyStore) Find(ctx context.Context, key string) ([]byte, bool, error) {
	s.finds.Add(1)
	if s.failing.Load() {
		return nil, false, errDown
	}
	return s.Store.Find(ctx, key)
}

func (s *flakyStore) Commit(ctx context.Context, key string, data []byte, exp time.Time) error {
	s.commits.Add(1)
	if s.failing.Load() {
		return errDown
	}
	return s.Store.Commit(ctx, key, data, exp)
}

func (s *flakyStore) Delete(ctx context.Context, key string) error {
	s.dels.Add(1)
	if s.failing.Load() {
		return errDown
	}
	return s.Store.Delete(ctx, key)
}

// harness is a manager over a flaky memstore with a captured log.
type harness struct {
	m     *session.Manager
	store *flakyStore
	logs  *bytes.Buffer
	now   time.Time
	mu    sync.Mutex
}

func newHarness(t testing.TB, mod func(*session.Config)) *harness {
	t.Helper()
	h := &harness{logs: &bytes.Buffer{}, now: time.Unix(1_700_000_000, 0)}
	clock := func() time.Time { h.mu.Lock(); defer h.mu.Unlock(); return h.now }
	ms, _ := memstore.New(memstore.Config{Now: clock})
	h.store = &flakyStore{Store: ms}
	c := session.Config{
		Store:  h.store,
		Logger: slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:    clock,
	}
	if mod != nil {
		mod(&c)
	}
	m, err := session.New(c)
	if err != nil {
		t.Fatal(err)
	}
	h.m = m
	return h
}

func (h *harness) advance(d time.Duration) { h.mu.Lock(); h.now = h.now.Add(d); h.mu.Unlock() }

// do runs one request carrying cookie (if non-empty) through handler.
func (h *harness) do(method, cookie string, handler http.HandlerFunc) *http.Response {
	req := httptest.NewRequest(method, "https://example.com/account?token=query-secret", nil)
	if cookie != "" {
		req.Header.Set("Cookie", h.m.CookieName()+"="+cookie)
	}
	rec := httptest.NewRecorder()
	h.m.Handler(handler).ServeHTTP(rec, req)
	return rec.Result()
}

// sessionCookie returns the session cookie a response set ("" for none,
// "-" for a deletion).
func sessionCookie(t testing.TB, res *http.Response, name string) string {
	t.Helper()
	for _, c := range res.Cookies() {
		if c.Name == name {
			if c.MaxAge < 0 {
				return "-"
			}
			return c.Value
		}
	}
	return ""
}

func login(user string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := session.Renew(r); err != nil {
			http.Error(w, "renew", 500)
			return
		}
		session.Put(r, "user", user)
	}
}

func whoami(w http.ResponseWriter, r *http.Request) {
	u, _ := session.Get[string](r, "user")
	io.WriteString(w, u)
}

func body(res *http.Response) string {
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

func TestSecureDefaults(t *testing.T) {
	h := newHarness(t, nil)
	res := h.do("GET", "", func(w http.ResponseWriter, r *http.Request) { session.Put(r, "a", 1) })
	got := res.Header.Get("Set-Cookie")
	if !strings.HasPrefix(got, "__Host-session=") {
		t.Fatalf("cookie %q, want the __Host-session name", got)
	}
	for _, attr := range []string{"; HttpOnly", "; Secure", "; SameSite=Lax", "; Path=/", "; Max-Age=1209600", "; expires=Tue, 28 Nov 2023 22:13:20 GMT"} {
		if !strings.Contains(got, attr) {
			t.Errorf("cookie %q lacks %q", got, attr)
		}
	}
	if strings.Contains(got, "Domain=") {
		t.Errorf("cookie %q has a Domain", got)
	}
	if id := sessionCookie(t, res, "__Host-session"); len(id) != 43 {
		t.Errorf("id %q is not 43 characters of base64url", id)
	}
	if res.Header.Get("Vary") != "Cookie" {
		t.Errorf("Vary = %q", res.Header.Get("Vary"))
	}
}

func TestConfigValidate(t *testing.T) {
	ms, _ := memstore.New(memstore.Config{})
	cs, _ := cookiestore.New(cookiestore.Config{Keys: [][]byte{bytes.Repeat([]byte{1}, 32)}})
	tests := []struct {
		name string
		c    session.Config
		ok   bool
	}{
		{"defaults", session.Config{Store: ms}, true},
		{"cookie store", session.Config{CookieStore: cs}, true},
		{"no store", session.Config{}, false},
		{"both stores", session.Config{Store: ms, CookieStore: cs}, false},
		{"negative lifetime", session.Config{Store: ms, Lifetime: -1}, false},
		{"negative idle", session.Config{Store: ms, IdleTimeout: -1}, false},
		{"__Host- with Domain", session.Config{Store: ms, Cookie: session.CookieConfig{Name: "__Host-s", Domain: "example.com"}}, false},
		{"__Host- without Secure", session.Config{Store: ms, Cookie: session.CookieConfig{Name: "__Host-s", AllowInsecureCookie: true}}, false},
		{"__Secure- without Secure", session.Config{Store: ms, Cookie: session.CookieConfig{Name: "__Secure-s", AllowInsecureCookie: true}}, false},
		{"SameSite None without Secure", session.Config{Store: ms, Cookie: session.CookieConfig{SameSite: "None", AllowInsecureCookie: true}}, false},
		{"SameSite bogus", session.Config{Store: ms, Cookie: session.CookieConfig{SameSite: "sometimes"}}, false},
		{"bad name", session.Config{Store: ms, Cookie: session.CookieConfig{Name: "a;b"}}, false},
		{"header injection in path", session.Config{Store: ms, Cookie: session.CookieConfig{Path: "/\r\nX: y"}}, false},
		{"insecure dev", session.Config{Store: ms, Cookie: session.CookieConfig{AllowInsecureCookie: true}}, true},
	}
	for _, tt := range tests {
		if err := tt.c.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestDefaultNames(t *testing.T) {
	ms, _ := memstore.New(memstore.Config{})
	for _, tt := range []struct {
		c    session.CookieConfig
		want string
	}{
		{session.CookieConfig{}, "__Host-session"},
		{session.CookieConfig{Domain: "example.com"}, "__Secure-session"},
		{session.CookieConfig{Path: "/app/"}, "__Secure-session"},
		{session.CookieConfig{AllowInsecureCookie: true}, "session"},
	} {
		m, err := session.New(session.Config{Store: ms, Cookie: tt.c})
		if err != nil || m.CookieName() != tt.want {
			t.Errorf("%+v: name %q, %v; want %q", tt.c, m.CookieName(), err, tt.want)
		}
	}
}

func TestLazyLoadAndSaveOnlyWhenModified(t *testing.T) {
	h := newHarness(t, nil)
	id := sessionCookie(t, h.do("GET", "", login("ada")), h.m.CookieName())
	h.store.finds.Store(0)
	h.store.commits.Store(0)

	res := h.do("GET", id, func(w http.ResponseWriter, r *http.Request) {})
	if h.store.finds.Load() != 0 || res.Header.Get("Set-Cookie") != "" || res.Header.Get("Vary") != "" {
		t.Fatalf("untouched session: %d finds, Set-Cookie %q, Vary %q", h.store.finds.Load(), res.Header.Get("Set-Cookie"), res.Header.Get("Vary"))
	}
	res = h.do("GET", id, whoami)
	if body(res) != "ada" || h.store.commits.Load() != 0 || res.Header.Get("Set-Cookie") != "" {
		t.Fatalf("read-only request saved the session or lost it")
	}
	if res.Header.Get("Vary") != "Cookie" {
		t.Fatal("read without Vary: Cookie")
	}
	h.do("POST", id, func(w http.ResponseWriter, r *http.Request) { session.Put(r, "cart", []int{1, 2}) })
	if h.store.commits.Load() != 1 {
		t.Fatalf("modified session saved %d times, want 1", h.store.commits.Load())
	}
}

func TestSaveEveryRequest(t *testing.T) {
	h := newHarness(t, func(c *session.Config) { c.SaveEveryRequest = true })
	id := sessionCookie(t, h.do("GET", "", login("ada")), h.m.CookieName())
	res := h.do("GET", id, func(w http.ResponseWriter, r *http.Request) {})
	if sessionCookie(t, res, h.m.CookieName()) != id || res.Header.Get("Vary") != "Cookie" {
		t.Fatalf("save-every-request: Set-Cookie %q, Vary %q (CVE-2026-35192)", res.Header.Get("Set-Cookie"), res.Header.Get("Vary"))
	}
}

func TestNoSaveOn5xx(t *testing.T) {
	h := newHarness(t, nil)
	res := h.do("POST", "", func(w http.ResponseWriter, r *http.Request) {
		session.Put(r, "a", 1)
		w.WriteHeader(502)
	})
	if res.StatusCode != 502 || res.Header.Get("Set-Cookie") != "" || h.store.commits.Load() != 0 {
		t.Fatalf("5xx: status %d, Set-Cookie %q, %d commits", res.StatusCode, res.Header.Get("Set-Cookie"), h.store.commits.Load())
	}
}

// TestFixation: an id planted in the victim's browser before login is not
// the id after login, and is worthless afterwards.
func TestFixation(t *testing.T) {
	h := newHarness(t, nil)
	// 1. An invented id is never adopted.
	invented := "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	res := h.do("POST", invented, login("victim"))
	got := sessionCookie(t, res, h.m.CookieName())
	if got == invented || got == "" {
		t.Fatalf("invented id adopted: %q", got)
	}
	// 2. The attacker's own real (anonymous) session, planted in the
	// victim's browser: Renew at login moves the data to a new id and
	// deletes the old record.
	planted := sessionCookie(t, h.do("GET", "", func(w http.ResponseWriter, r *http.Request) { session.Put(r, "cart", 1) }), h.m.CookieName())
	res = h.do("POST", planted, login("victim"))
	after := sessionCookie(t, res, h.m.CookieName())
	if after == planted || after == "" {
		t.Fatalf("id not renewed at login: %q", after)
	}
	if u := body(h.do("GET", planted, whoami)); u != "" {
		t.Fatalf("attacker's planted id sees the victim's session: %q", u)
	}
	if u := body(h.do("GET", after, whoami)); u != "victim" {
		t.Fatalf("renewed id lost the session: %q", u)
	}
	if c, _ := session.Get[int](withSession(t, h, after), "cart"); c != 1 {
		t.Fatal("Renew dropped the anonymous data")
	}
}

// withSession returns a request inside a live handler call, for reading.
func withSession(t *testing.T, h *harness, id string) *http.Request {
	var out *http.Request
	done := make(chan struct{})
	h.do("GET", id, func(w http.ResponseWriter, r *http.Request) {
		session.Keys(r) // load while the handler runs
		out = r
		close(done)
	})
	<-done
	return out
}

// TestStolenCookieAfterLogout: with a server-side store, logout deletes
// the record, so a copy of the cookie stops working.
func TestStolenCookieAfterLogout(t *testing.T) {
	h := newHarness(t, nil)
	id := sessionCookie(t, h.do("POST", "", login("ada")), h.m.CookieName())
	stolen := id
	res := h.do("POST", id, func(w http.ResponseWriter, r *http.Request) { session.Flush(r) })
	if sessionCookie(t, res, h.m.CookieName()) != "-" {
		t.Fatalf("logout did not delete the cookie: %q", res.Header.Get("Set-Cookie"))
	}
	if want := "__Host-session=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax; Secure"; res.Header.Get("Set-Cookie") != want {
		t.Fatalf("delete cookie %q, want %q", res.Header.Get("Set-Cookie"), want)
	}
	if u := body(h.do("GET", stolen, whoami)); u != "" {
		t.Fatalf("stolen cookie still logged in as %q after logout", u)
	}
}

func newCookieManager(t testing.TB, revocations session.Store) *session.Manager {
	cs, err := cookiestore.New(cookiestore.Config{Keys: [][]byte{bytes.Repeat([]byte{7}, 32)}, Revocations: revocations})
	if err != nil {
		t.Fatal(err)
	}
	m, err := session.New(session.Config{CookieStore: cs})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestCookieStoreStolenCookieAfterLogout(t *testing.T) {
	rev, _ := memstore.New(memstore.Config{})
	h := &harness{m: newCookieManager(t, rev)}
	v1 := sessionCookie(t, h.do("POST", "", login("ada")), h.m.CookieName())
	// A later state of the same session, as the browser would hold it.
	v2 := sessionCookie(t, h.do("POST", v1, func(w http.ResponseWriter, r *http.Request) { session.Put(r, "n", 2) }), h.m.CookieName())
	if u := body(h.do("GET", v2, whoami)); u != "ada" {
		t.Fatalf("cookie session lost: %q", u)
	}
	h.do("POST", v2, func(w http.ResponseWriter, r *http.Request) { session.Flush(r) })
	for _, stolen := range []string{v1, v2} {
		if u := body(h.do("GET", stolen, whoami)); u != "" {
			t.Fatalf("stolen cookie still logged in as %q after logout", u)
		}
	}
}

func TestTamperedAndTruncatedCookies(t *testing.T) {
	h := newHarness(t, nil)
	id := sessionCookie(t, h.do("POST", "", login("ada")), h.m.CookieName())
	ch := &harness{m: newCookieManager(t, nil)}
	sealed := sessionCookie(t, ch.do("POST", "", login("ada")), ch.m.CookieName())
	for name, tc := range map[string]struct {
		h      *harness
		cookie string
	}{
		"id truncated":          {h, id[:42]},
		"id extended":           {h, id + "A"},
		"id one char changed":   {h, flipChar(id, 10)},
		"id lowercased":         {h, strings.ToLower(id)},
		"id with quotes":        {h, `"` + id + `"x`},
		"sealed truncated":      {ch, sealed[:len(sealed)-1]},
		"sealed one char":       {ch, flipChar(sealed, len(sealed)/2)},
		"sealed prefix only":    {ch, sealed[:40]},
		"sealed doubled":        {ch, sealed + sealed},
		"sealed first char":     {ch, flipChar(sealed, 0)},
		"sealed in other store": {h, sealed},
	} {
		t.Run(name, func(t *testing.T) {
			if u := body(tc.h.do("GET", tc.cookie, whoami)); u != "" {
				t.Fatalf("modified cookie accepted as %q", u)
			}
		})
	}
}

func flipChar(s string, i int) string {
	c := byte('A')
	if s[i] == 'A' {
		c = 'B'
	}
	return s[:i] + string(c) + s[i+1:]
}

// TestStoreFailureFailsClosed: a store that fails on load or save ends the
// request in 503 with one event, the handler's response withheld; once the
// store is back, requests succeed again.
func TestStoreFailureFailsClosed(t *testing.T) {
	h := newHarness(t, nil)
	id := sessionCookie(t, h.do("POST", "", login("ada")), h.m.CookieName())
	h.store.failing.Store(true)

	for name, handler := range map[string]http.HandlerFunc{
		"load": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Handler", "1")
			http.SetCookie(w, &http.Cookie{Name: "other", Value: "x"})
			if _, ok := session.Get[string](r, "user"); !ok && session.Err(r) == nil {
				t.Error("Get failed without Err reporting the store failure")
			}
			io.WriteString(w, "secret page")
		},
		"save": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Handler", "1")
			w.WriteHeader(201)
			io.WriteString(w, "created")
		},
	} {
		t.Run(name, func(t *testing.T) {
			h.logs.Reset()
			cookie := id
			if name == "save" {
				cookie = ""
				handler = chain(func(w http.ResponseWriter, r *http.Request) bool {
					h.store.failing.Store(false)
					session.Put(r, "a", 1) // loads fine (no cookie), fails on save
					h.store.failing.Store(true)
					return true
				}, handler)
			}
			res := h.do("POST", cookie, handler)
			if res.StatusCode != 503 || body(res) != "Service Unavailable" {
				t.Fatalf("status %d, want 503 with the status text", res.StatusCode)
			}
			if res.Header.Get("X-Handler") != "" || res.Header.Get("Set-Cookie") != "" {
				t.Fatalf("handler's headers leaked into the 503: %v", res.Header)
			}
			if n := strings.Count(h.logs.String(), `"event":"session_store_error"`); n != 1 {
				t.Fatalf("%d session_store_error events, want 1: %s", n, h.logs)
			}
		})
	}

	h.store.failing.Store(false)
	if res := h.do("GET", id, whoami); res.StatusCode != 200 || body(res) != "ada" {
		t.Fatalf("after recovery: status %d", res.StatusCode)
	}
}

func chain(pre func(w http.ResponseWriter, r *http.Request) bool, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if pre(w, r) {
			next(w, r)
		}
	}
}

func TestLogoutFailsWhenStoreDown(t *testing.T) {
	h := newHarness(t, nil)
	id := sessionCookie(t, h.do("POST", "", login("ada")), h.m.CookieName())
	res := h.do("POST", id, func(w http.ResponseWriter, r *http.Request) {
		session.Keys(r)
		h.store.failing.Store(true)
		if err := session.Flush(r); err == nil {
			t.Error("Flush succeeded with the store down")
		}
		io.WriteString(w, "logged out")
	})
	h.store.failing.Store(false)
	if res.StatusCode != 503 {
		t.Fatalf("failed logout answered %d, want 503", res.StatusCode)
	}
}

// TestIDsNeverLogged: across a login, failures and a logout, neither the
// session id, the cookie, the store key nor the query string is logged.
func TestIDsNeverLogged(t *testing.T) {
	h := newHarness(t, nil)
	id := sessionCookie(t, h.do("POST", "", login("ada")), h.m.CookieName())
	h.store.failing.Store(true)
	h.do("GET", id, whoami)
	h.do("POST", id, func(w http.ResponseWriter, r *http.Request) { session.Flush(r) })
	h.store.failing.Store(false)
	h.do("POST", id, func(w http.ResponseWriter, r *http.Request) { session.Flush(r) })
	logs := h.logs.String()
	if !strings.Contains(logs, "session_store_error") {
		t.Fatal("no event logged: the test would prove nothing")
	}
	for _, secret := range []string{id, id[:16], "query-secret", h.m.CookieName() + "="} {
		if strings.Contains(logs, secret) {
			t.Fatalf("log contains %q: %s", secret, logs)
		}
	}
}

func TestStreamingCommitsAtFirstWrite(t *testing.T) {
	h := newHarness(t, nil)
	var lateErr error
	res := h.do("GET", "", func(w http.ResponseWriter, r *http.Request) {
		session.Put(r, "a", 1)
		io.WriteString(w, "chunk 1")
		w.(http.Flusher).Flush()
		lateErr = session.Put(r, "b", 2)
	})
	if !errors.Is(lateErr, session.ErrResponseStarted) {
		t.Fatalf("Put after the response started: %v, want ErrResponseStarted", lateErr)
	}
	id := sessionCookie(t, res, h.m.CookieName())
	if id == "" {
		t.Fatal("session not committed before streaming")
	}
	r := withSession(t, h, id)
	if _, ok := session.Get[int](r, "a"); !ok {
		t.Fatal("value put before streaming was lost")
	}
}

func TestExpiry(t *testing.T) {
	t.Run("absolute lifetime", func(t *testing.T) {
		h := newHarness(t, func(c *session.Config) { c.Lifetime = time.Hour })
		id := sessionCookie(t, h.do("POST", "", login("ada")), h.m.CookieName())
		for i := 0; i < 5; i++ { // activity does not extend it
			h.advance(11 * time.Minute)
			h.do("POST", id, func(w http.ResponseWriter, r *http.Request) { session.Put(r, "i", i) })
		}
		if u := body(h.do("GET", id, whoami)); u != "ada" {
			t.Fatalf("session ended early")
		}
		h.advance(6 * time.Minute)
		if u := body(h.do("GET", id, whoami)); u != "" {
			t.Fatalf("session outlived its absolute lifetime")
		}
	})
	t.Run("idle timeout", func(t *testing.T) {
		h := newHarness(t, func(c *session.Config) { c.IdleTimeout = 10 * time.Minute })
		id := sessionCookie(t, h.do("POST", "", login("ada")), h.m.CookieName())
		for i := 0; i < 6; i++ { // reads keep it alive
			h.advance(9 * time.Minute)
			if u := body(h.do("GET", id, whoami)); u != "ada" {
				t.Fatalf("active session timed out after %d reads", i)
			}
		}
		h.advance(11 * time.Minute)
		if u := body(h.do("GET", id, whoami)); u != "" {
			t.Fatal("idle session still alive")
		}
	})
	t.Run("per-session idle and browser session", func(t *testing.T) {
		h := newHarness(t, nil)
		res := h.do("POST", "", func(w http.ResponseWriter, r *http.Request) {
			session.Put(r, "user", "ada")
			session.SetExpiry(r, session.Expiry{Idle: 5 * time.Minute, BrowserSession: true})
		})
		if sc := res.Header.Get("Set-Cookie"); strings.Contains(sc, "Max-Age") || strings.Contains(sc, "expires") {
			t.Fatalf("browser-session cookie has an expiry: %q", sc)
		}
		id := sessionCookie(t, res, h.m.CookieName())
		h.advance(6 * time.Minute)
		if u := body(h.do("GET", id, whoami)); u != "" {
			t.Fatal("per-session idle timeout ignored")
		}
	})
}

func TestTypedValues(t *testing.T) {
	h := newHarness(t, nil)
	type cart struct {
		Items []string `json:"items"`
	}
	id := sessionCookie(t, h.do("POST", "", func(w http.ResponseWriter, r *http.Request) {
		for k, v := range map[string]any{"s": "plain", "q": `quo"te <&> é`, "i": 42, "b": true, "f": 1.5, "c": cart{Items: []string{"x"}}} {
			if err := session.Put(r, k, v); err != nil {
				t.Error(err)
			}
		}
		if err := session.Put(r, "bad", func() {}); err == nil {
			t.Error("Put of a func succeeded")
		}
	}), h.m.CookieName())
	h.do("POST", id, func(w http.ResponseWriter, r *http.Request) {
		if v, _ := session.Get[string](r, "s"); v != "plain" {
			t.Errorf("s = %q", v)
		}
		if v, _ := session.Get[string](r, "q"); v != `quo"te <&> é` {
			t.Errorf("q = %q", v)
		}
		if v, _ := session.Get[int](r, "i"); v != 42 {
			t.Errorf("i = %d", v)
		}
		if v, _ := session.Get[bool](r, "b"); !v {
			t.Error("b = false")
		}
		if v, _ := session.Get[float64](r, "f"); v != 1.5 {
			t.Errorf("f = %v", v)
		}
		if v, _ := session.Get[cart](r, "c"); len(v.Items) != 1 {
			t.Errorf("c = %v", v)
		}
		if _, ok := session.Get[int](r, "s"); ok {
			t.Error("string decoded as int")
		}
		if v, ok := session.Pop[int](r, "i"); !ok || v != 42 || session.Has(r, "i") {
			t.Error("Pop did not return and remove")
		}
		session.Remove(r, "b")
		if got := strings.Join(session.Keys(r), ","); got != "c,f,q,s" {
			t.Errorf("Keys = %s", got)
		}
	})
}

func TestCSRFSecret(t *testing.T) {
	h := newHarness(t, nil)
	id := sessionCookie(t, h.do("GET", "", func(w http.ResponseWriter, r *http.Request) {
		if s, err := h.m.CSRFSecret(r); s != "" || err != nil {
			t.Errorf("fresh session secret %q, %v", s, err)
		}
		if err := h.m.SetCSRFSecret(r, "s3cret"); err != nil {
			t.Error(err)
		}
	}), h.m.CookieName())
	h.do("POST", id, func(w http.ResponseWriter, r *http.Request) {
		if s, err := h.m.CSRFSecret(r); s != "s3cret" || err != nil {
			t.Errorf("secret %q, %v", s, err)
		}
	})
	h.store.failing.Store(true)
	h.do("POST", id, func(w http.ResponseWriter, r *http.Request) {
		if _, err := h.m.CSRFSecret(r); err == nil {
			t.Error("CSRFSecret hid a store failure")
		}
	})
	if _, err := h.m.CSRFSecret(httptest.NewRequest("GET", "/", nil)); !errors.Is(err, session.ErrNoSession) {
		t.Errorf("outside the middleware: %v", err)
	}
}

func TestCookieTooLargeFailsClosed(t *testing.T) {
	logs := &bytes.Buffer{}
	cs, _ := cookiestore.New(cookiestore.Config{Keys: [][]byte{bytes.Repeat([]byte{7}, 32)}})
	m, _ := session.New(session.Config{CookieStore: cs, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	h := &harness{m: m, logs: logs}
	res := h.do("POST", "", func(w http.ResponseWriter, r *http.Request) {
		session.Put(r, "big", strings.Repeat("x", 5000))
		io.WriteString(w, "saved!")
	})
	if res.StatusCode != 500 || res.Header.Get("Set-Cookie") != "" || body(res) != "Internal Server Error" {
		t.Fatalf("oversized session: status %d, Set-Cookie %q", res.StatusCode, res.Header.Get("Set-Cookie"))
	}
	if !strings.Contains(logs.String(), "reason=cookie_too_large") {
		t.Fatalf("no cookie_too_large event: %s", logs)
	}
}

// TestAllocs pins the cost of the common request: reading one value of an
// existing session.
func TestAllocs(t *testing.T) {
	h := newHarness(t, nil)
	id := sessionCookie(t, h.do("POST", "", login("ada")), h.m.CookieName())
	handler := h.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		session.Get[string](r, "user")
	}))
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Cookie", h.m.CookieName()+"="+id)
	w := &discard{h: http.Header{}}
	allocs := testing.AllocsPerRun(100, func() {
		clear(w.h)
		handler.ServeHTTP(w, req)
	})
	if allocs > 5 {
		t.Fatalf("GET reading one value: %v allocations, want <= 5", allocs)
	}
	// Behind the top of the chain the state lives in the request's
	// record: no request copy. (Each run starts from an empty record, as
	// each request does.)
	rf, _ := reqstate.Attach(req)
	allocs = testing.AllocsPerRun(100, func() {
		clear(w.h)
		reqstatetest.Reset(rf)
		handler.ServeHTTP(w, rf)
	})
	if allocs > 4 {
		t.Fatalf("GET reading one value, with a record: %v allocations, want <= 4", allocs)
	}
}

type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

func TestHijackCommits(t *testing.T) {
	h := newHarness(t, nil)
	id := sessionCookie(t, h.do("POST", "", login("ada")), h.m.CookieName())
	srv := httptest.NewServer(h.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		session.Put(r, "ws", true)
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		buf.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: close\r\n\r\n")
		buf.Flush()
		conn.Close()
	})))
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.Header.Set("Cookie", h.m.CookieName()+"="+id)
	if res, err := http.DefaultClient.Do(req); err == nil {
		res.Body.Close()
	}
	if _, ok := session.Get[bool](withSession(t, h, id), "ws"); !ok {
		t.Fatal("session change before Hijack was not saved")
	}
}

// TestCookieAttributes: each weakening is visible in the header, and
// nothing else changes.
func TestCookieAttributes(t *testing.T) {
	for _, tt := range []struct {
		c    session.CookieConfig
		want string
	}{
		{session.CookieConfig{}, "__Host-session=ID; expires=E; HttpOnly; Max-Age=1209600; Path=/; SameSite=Lax; Secure"},
		{session.CookieConfig{SameSite: "strict"}, "__Host-session=ID; expires=E; HttpOnly; Max-Age=1209600; Path=/; SameSite=Strict; Secure"},
		{session.CookieConfig{SameSite: "None"}, "__Host-session=ID; expires=E; HttpOnly; Max-Age=1209600; Path=/; SameSite=None; Secure"},
		{session.CookieConfig{Domain: "example.com", Path: "/app/"}, "__Secure-session=ID; Domain=example.com; expires=E; HttpOnly; Max-Age=1209600; Path=/app/; SameSite=Lax; Secure"},
		{session.CookieConfig{AllowInsecureCookie: true, AllowInsecureScriptAccess: true, AllowInsecureNoSameSite: true}, "session=ID; expires=E; Max-Age=1209600; Path=/"},
	} {
		h := newHarness(t, func(c *session.Config) { c.Cookie = tt.c })
		res := h.do("GET", "", func(w http.ResponseWriter, r *http.Request) { session.Put(r, "a", 1) })
		got := res.Header.Get("Set-Cookie")
		got = strings.Replace(got, sessionCookie(t, res, h.m.CookieName()), "ID", 1)
		got = strings.Replace(got, "Tue, 28 Nov 2023 22:13:20 GMT", "E", 1)
		if got != tt.want {
			t.Errorf("%+v:\n got %s\nwant %s", tt.c, got, tt.want)
		}
	}
}

// spyCookieStore remembers the last key it opened.
type spyCookieStore struct {
	*cookiestore.Store
	last string
}

func (s *spyCookieStore) Open(ctx context.Context, v string) (string, []byte, bool, error) {
	k, d, ok, err := s.Store.Open(ctx, v)
	s.last = k
	return k, d, ok, err
}

// TestConcurrentLogoutNotResurrected: a request that loaded the session
// before a concurrent logout must not bring it back when it saves.
func TestConcurrentLogoutNotResurrected(t *testing.T) {
	rev, _ := memstore.New(memstore.Config{})
	cs, _ := cookiestore.New(cookiestore.Config{Keys: [][]byte{bytes.Repeat([]byte{7}, 32)}, Revocations: rev})
	spy := &spyCookieStore{Store: cs}
	logs := &bytes.Buffer{}
	m, _ := session.New(session.Config{CookieStore: spy, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	h := &harness{m: m, logs: logs}
	v := sessionCookie(t, h.do("POST", "", login("ada")), m.CookieName())
	res := h.do("POST", v, func(w http.ResponseWriter, r *http.Request) {
		session.Keys(r)                           // loaded
		cs.Revoke(context.Background(), spy.last) // logout elsewhere
		session.Put(r, "late", 1)
	})
	if res.StatusCode != http.StatusBadRequest || res.Header.Get("Set-Cookie") != "" {
		t.Fatalf("late save after logout: status %d, Set-Cookie %q; want 400 and no cookie", res.StatusCode, res.Header.Get("Set-Cookie"))
	}
	if !strings.Contains(logs.String(), "reason=session_interrupted") {
		t.Fatalf("no session_interrupted event: %s", logs)
	}
	if u := body(h.do("GET", v, whoami)); u != "" {
		t.Fatalf("revoked session back as %q", u)
	}
}

// plainStore hides memstore's Updater, to test the manager's fallback.
type plainStore struct{ session.Store }

// TestConcurrentLogoutServerStore: with a server-side store, a save racing
// a logout that deleted the record is refused (400) instead of bringing
// the session back, with an atomic Update and with the Find fallback.
func TestConcurrentLogoutServerStore(t *testing.T) {
	for name, wrap := range map[string]func(*memstore.Store) session.Store{
		"updater":  func(s *memstore.Store) session.Store { return s },
		"fallback": func(s *memstore.Store) session.Store { return plainStore{s} },
	} {
		t.Run(name, func(t *testing.T) {
			ms, _ := memstore.New(memstore.Config{})
			logs := &bytes.Buffer{}
			m, _ := session.New(session.Config{Store: wrap(ms), Logger: slog.New(slog.NewTextHandler(logs, nil))})
			h := &harness{m: m, logs: logs}
			id := sessionCookie(t, h.do("POST", "", login("ada")), m.CookieName())
			sum := sha256.Sum256([]byte(id))
			key := base64.RawURLEncoding.EncodeToString(sum[:])
			res := h.do("POST", id, func(w http.ResponseWriter, r *http.Request) {
				session.Keys(r)                      // loaded
				ms.Delete(context.Background(), key) // logout in another request
				session.Put(r, "late", 1)
			})
			if res.StatusCode != http.StatusBadRequest || res.Header.Get("Set-Cookie") != "" {
				t.Fatalf("status %d, Set-Cookie %q; want 400 and no cookie", res.StatusCode, res.Header.Get("Set-Cookie"))
			}
			if _, found, _ := ms.Find(context.Background(), key); found {
				t.Fatal("the deleted session was written back")
			}
			if !strings.Contains(logs.String(), "reason=session_interrupted") {
				t.Fatalf("no session_interrupted event: %s", logs)
			}
		})
	}
}

// TestConcurrentAccessInHandler: goroutines of one handler may use the
// session at once (run with -race).
func TestConcurrentAccessInHandler(t *testing.T) {
	h := newHarness(t, nil)
	id := sessionCookie(t, h.do("POST", "", func(w http.ResponseWriter, r *http.Request) {
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				session.Put(r, "k"+string(rune('a'+i)), i)
				session.Get[int](r, "ka")
				session.Keys(r)
			}()
		}
		wg.Wait()
	}), h.m.CookieName())
	if n := len(session.Keys(withSession(t, h, id))); n != 8 {
		t.Fatalf("%d keys saved, want 8", n)
	}
}
