package csrf_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/reqstate"
	"github.com/bulwarkdev/bulwark/internal/reqstate/reqstatetest"

	"github.com/bulwarkdev/bulwark/csrf"
)

type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nopWriter) WriteHeader(int)             {}

var okHandler = http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})

// The Fetch Metadata path (tokens off) allocates nothing.
func TestAllocsFetchMetadata(t *testing.T) {
	p := mustNew(t, csrf.Config{InsecureSkipTokens: true})
	h := p.Handler(okHandler)
	r := httptest.NewRequest("POST", "http://example.com/", nil)
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	r2 := httptest.NewRequest("POST", "http://example.com/", nil)
	r2.Header.Set("Origin", "http://example.com")
	w := &nopWriter{h: http.Header{}}
	for _, req := range []*http.Request{r, r2} {
		if n := testing.AllocsPerRun(100, func() { h.ServeHTTP(w, req) }); n != 0 {
			t.Errorf("%v: %v allocations, want 0", req.Header, n)
		}
	}
}

// The token path: one allocation for the per-request state (context,
// response writer and secret together) and one for the request copy that
// carries it.
func TestAllocsToken(t *testing.T) {
	p := mustNew(t, csrf.Config{})
	h := p.Handler(okHandler)
	r := httptest.NewRequest("POST", "http://example.com/", nil)
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	r.Header.Set("Cookie", "csrftoken="+testSecret)
	r.Header.Set("X-CSRFToken", csrf.Mask(testSecret))
	w := &nopWriter{h: http.Header{}}
	h.ServeHTTP(w, r)
	if n := testing.AllocsPerRun(100, func() { h.ServeHTTP(w, r) }); n > 2 {
		t.Errorf("%v allocations, want at most 2", n)
	}
	// Behind the top of the chain the state lives in the request's
	// record: no request copy. (Each run starts from an empty record, as
	// each request does.)
	rf := reqstatetest.With(r, reqstate.Conn{Scheme: "http", Host: "example.com"}, "", false)
	if n := testing.AllocsPerRun(100, func() {
		reqstatetest.Reset(rf)
		h.ServeHTTP(w, rf)
	}); n > 1 {
		t.Errorf("with a record: %v allocations, want at most 1", n)
	}
	if err := p.Check(rf); err != nil {
		t.Fatal(err)
	}
	// Check it was accepted (a refusal would allocate its error).
	if err := p.Check(r); err != nil {
		t.Fatal(err)
	}
}
