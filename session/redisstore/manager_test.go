package redisstore_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/bulwarkdev/bulwark/internal/testsvc"
	"github.com/bulwarkdev/bulwark/session"
	"github.com/bulwarkdev/bulwark/session/redisstore"
	"github.com/bulwarkdev/bulwark/session/sessiontest"
)

// Through the session manager: a request that only reads its session costs
// one round trip to Redis (a GET), one that changes it two (GET, SET), one
// without a session none. And the keys in Redis are not the session ids
// the client holds.
func TestManagerRoundTrips(t *testing.T) {
	testsvc.Redis(t)
	client := redis.NewClient(&redis.Options{Addr: testsvc.RedisAddr(), ContextTimeoutEnabled: true})
	t.Cleanup(func() { client.Close() })
	client.Ping(context.Background())
	store, prefix := newStore(t, client)
	m, err := session.New(session.Config{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPost:
			if err := session.Put(r, "user", "alice"); err != nil {
				t.Error(err)
			}
		case http.MethodGet:
			if r.URL.Path == "/read" {
				session.Get[string](r, "user")
			}
		}
	}))
	var c counter
	client.AddHook(&c)
	do := func(method, path, cookie string) *http.Response {
		r := httptest.NewRequest(method, "https://example.com"+path, nil)
		if cookie != "" {
			r.Header.Set("Cookie", cookie)
		}
		w := httptest.NewRecorder()
		c.cmds.Store(0)
		c.pipes.Store(0)
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			t.Fatalf("%s %s: status %d", method, path, w.Code)
		}
		return w.Result()
	}
	want := func(what string, n int64) {
		t.Helper()
		if got, p := c.cmds.Load(), c.pipes.Load(); got != n || p != 0 {
			t.Errorf("%s: %d Redis commands and %d pipelines, want %d commands", what, got, p, n)
		}
	}

	res := do(http.MethodPost, "/login", "")
	want("new session written", 1) // SET only: nothing to read yet
	var cookie, id string
	for _, ck := range res.Cookies() {
		if ck.Name == m.CookieName() {
			cookie, id = ck.Name+"="+ck.Value, ck.Value
		}
	}
	if id == "" {
		t.Fatalf("no session cookie in %q", res.Header["Set-Cookie"])
	}
	do(http.MethodGet, "/read", cookie)
	want("read-only request", 1)
	do(http.MethodPost, "/write", cookie)
	want("changing request", 2)
	do(http.MethodGet, "/static", "")
	want("request that never touches the session", 0)

	// The id in the cookie appears nowhere in Redis: not as a key, not in
	// a key.
	keys, err := client.Keys(context.Background(), prefix+"*").Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("keys under the prefix = %q, %v; want one", keys, err)
	}
	if strings.Contains(keys[0], id) {
		t.Fatalf("Redis key %q contains the session id", keys[0])
	}
	// A guessed or stolen store key is no cookie: presenting the key as an
	// id finds nothing.
	storeKey := strings.TrimPrefix(keys[0], prefix)
	sessiontest.MustFind(t, store, storeKey)
	probe := httptest.NewRequest(http.MethodGet, "https://example.com/read", nil)
	probe.Header.Set("Cookie", m.CookieName()+"="+storeKey)
	var got string
	var found bool
	m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, found = session.Get[string](r, "user")
	})).ServeHTTP(httptest.NewRecorder(), probe)
	if found {
		t.Fatalf("the store key used as a cookie opened the session (user %q)", got)
	}
}

var _ session.Store = (*redisstore.Store)(nil)
