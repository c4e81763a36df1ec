package bench

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"

	"github.com/bulwarkdev/bulwark/session"
	bwmem "github.com/bulwarkdev/bulwark/session/memstore"
)

// Sessions in memory: a GET that reads one value from an existing session
// and a POST that writes one, through Bulwark's manager with its memstore
// and through scs v2.9.0 with its memstore. Both run the same handler
// shape against one reused request and a header-only ResponseWriter, so
// the numbers are the session layer's own cost (request construction is
// excluded for both).

type msSink struct{ h http.Header }

func (s *msSink) Header() http.Header         { return s.h }
func (s *msSink) Write(p []byte) (int, error) { return len(p), nil }
func (s *msSink) WriteHeader(code int) {
	if code != http.StatusOK {
		panic("status " + strconv.Itoa(code))
	}
}

// msLogin makes a session with a first POST and returns its cookie.
func msLogin(b *testing.B, h http.Handler, name string) string {
	b.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "https://example.com/login", nil))
	for _, c := range w.Result().Cookies() {
		if c.Name == name {
			return c.Name + "=" + c.Value
		}
	}
	b.Fatalf("no %s cookie after login: %q", name, w.Header()["Set-Cookie"])
	return ""
}

func msRun(b *testing.B, h http.Handler, method, cookie string) {
	r := httptest.NewRequest(method, "https://example.com/", nil)
	r.Header.Set("Cookie", cookie)
	w := &msSink{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, r)
	}
}

func BenchmarkSessionMemory(b *testing.B) {
	b.Run("bulwark", func(b *testing.B) {
		store, err := bwmem.New(bwmem.Config{})
		if err != nil {
			b.Fatal(err)
		}
		m, err := session.New(session.Config{Store: store})
		if err != nil {
			b.Fatal(err)
		}
		var i atomic.Int64
		h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				if err := session.Put(r, "user", "user-"+strconv.FormatInt(i.Add(1), 10)); err != nil {
					panic(err)
				}
				return
			}
			if _, ok := session.Get[string](r, "user"); !ok {
				panic("no user in session")
			}
		}))
		cookie := msLogin(b, h, m.CookieName())
		b.Run("GET", func(b *testing.B) { msRun(b, h, http.MethodGet, cookie) })
		b.Run("POST", func(b *testing.B) { msRun(b, h, http.MethodPost, cookie) })
	})

	b.Run("scs", func(b *testing.B) {
		sm := scs.New()
		sm.Store = memstore.New()
		sm.Cookie.Secure = true
		var i atomic.Int64
		h := sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				sm.Put(r.Context(), "user", "user-"+strconv.FormatInt(i.Add(1), 10))
				return
			}
			if sm.GetString(r.Context(), "user") == "" {
				panic("no user in session")
			}
		}))
		cookie := msLogin(b, h, sm.Cookie.Name)
		b.Run("GET", func(b *testing.B) { msRun(b, h, http.MethodGet, cookie) })
		b.Run("POST", func(b *testing.B) { msRun(b, h, http.MethodPost, cookie) })
	})
}
