package session_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bulwarkdev/bulwark/session"
	"github.com/bulwarkdev/bulwark/trustedproxy"
)

// TestStoreFailureKeepsOuterHeaders: a replaced response keeps what the
// layers in front of the manager set (however many), and drops what the
// handler added or changed.
func TestStoreFailureKeepsOuterHeaders(t *testing.T) {
	for _, outer := range []int{1, 10, 25} {
		t.Run(fmt.Sprint(outer, " outer headers"), func(t *testing.T) {
			h := newHarness(t, nil)
			id := sessionCookie(t, h.do("POST", "", login("ada")), h.m.CookieName())
			h.store.failing.Store(true)
			app := h.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Handler", "1")
				w.Header().Set("X-Outer-0", "changed by the handler")
				w.Header().Del("X-Outer-1")
				http.SetCookie(w, &http.Cookie{Name: "other", Value: "x"})
				session.Get[string](r, "user")
				io.WriteString(w, "secret page")
			}))
			front := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for i := range outer {
					w.Header().Set(fmt.Sprint("X-Outer-", i), "outer")
				}
				app.ServeHTTP(w, r)
			})
			req := httptest.NewRequest("GET", "https://example.com/", nil)
			req.Header.Set("Cookie", h.m.CookieName()+"="+id)
			rec := httptest.NewRecorder()
			front.ServeHTTP(rec, req)
			res := rec.Result()
			if res.StatusCode != 503 || body(res) != "Service Unavailable" {
				t.Fatalf("status %d, want 503 with the status text", res.StatusCode)
			}
			for i := range outer {
				if got := res.Header.Values(fmt.Sprint("X-Outer-", i)); len(got) != 1 || got[0] != "outer" {
					t.Errorf("X-Outer-%d = %q, want the outer layer's value", i, got)
				}
			}
			if res.Header.Get("X-Handler") != "" || res.Header.Get("Set-Cookie") != "" {
				t.Errorf("handler's headers leaked into the 503: %v", res.Header)
			}
		})
	}
}

// TestNestedManagersWithFacts: behind the record's creator the first manager
// keeps its state in the record; a second manager behind it still owns the
// requests it serves, and the first one its own again afterwards.
func TestNestedManagersWithFacts(t *testing.T) {
	outer := newHarness(t, nil)
	inner := newHarness(t, func(c *session.Config) { c.Cookie.Name = "inner" })
	var seenInner, seenOuterAfter string
	innerApp := inner.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		session.Put(r, "who", "inner")
		seenInner, _ = session.Get[string](r, "who")
	}))
	h := outer.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		session.Put(r, "who", "outer")
		innerApp.ServeHTTP(w, r)
		seenOuterAfter, _ = session.Get[string](r, "who")
	}))
	// A resolver behind the outer manager: the Facts it attaches keep
	// the outer state visible.
	var resolver *trustedproxy.Resolver
	resolver, err := trustedproxy.New(trustedproxy.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		h    http.Handler
	}{
		{"facts in front", resolver.Handler(h)},
		{"no facts", h},
		{"facts between", outer.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			session.Put(r, "who", "outer")
			resolver.Handler(innerApp).ServeHTTP(w, r)
			seenOuterAfter, _ = session.Get[string](r, "who")
		}))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			seenInner, seenOuterAfter = "", ""
			rec := httptest.NewRecorder()
			tt.h.ServeHTTP(rec, httptest.NewRequest("GET", "https://example.com/", nil))
			if seenInner != "inner" || seenOuterAfter != "outer" {
				t.Errorf("inner saw %q, outer saw %q afterwards; want inner, outer", seenInner, seenOuterAfter)
			}
			names := map[string]bool{}
			for _, c := range rec.Result().Cookies() {
				names[c.Name] = true
			}
			if !names[outer.m.CookieName()] || !names["inner"] {
				t.Errorf("cookies %v, want both managers' cookies", names)
			}
		})
	}
	// A resolver in front of a manager in front of a resolver: the state
	// survives the second resolver's new Facts.
	two := resolver.Handler(outer.m.Handler(resolver.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := session.Put(r, "who", "x"); err != nil {
			t.Errorf("behind a second resolver: %v", err)
		}
	}))))
	two.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "https://example.com/", nil))
}
