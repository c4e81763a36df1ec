package bench

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	gorilla "github.com/gorilla/csrf"
	"github.com/justinas/nosurf"

	"github.com/bulwarkdev/bulwark/csrf"
)

// The CSRF benchmarks send one request shape to every library: a
// same-origin POST to https://example.com from a current browser
// (Sec-Fetch-Site: same-origin, Origin: https://example.com), carrying,
// for the token benchmarks, the library's cookie and a valid masked token
// in its header, both obtained from a GET through the same handler.

var okApp = http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})

type discard struct{ h http.Header }

func (w *discard) Header() http.Header         { return w.h }
func (w *discard) Write(b []byte) (int, error) { return len(b), nil }
func (w *discard) WriteHeader(int)             {}

func samePOST() *http.Request {
	r := httptest.NewRequest("POST", "https://example.com/transfer", nil)
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	r.Header.Set("Origin", "https://example.com")
	return r
}

// run measures h on r, after checking that h accepts r.
func run(b *testing.B, h http.Handler, r *http.Request) {
	b.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != http.StatusOK {
		b.Fatalf("request refused: %d %s", rec.Code, rec.Body)
	}
	w := &discard{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, r)
	}
}

// tokenFor GETs a page through h, whose application writes the token
// tokenOf(r) as the body, and returns the cookies set and the token.
func tokenFor(b *testing.B, h http.Handler) ([]*http.Cookie, string) {
	b.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "https://example.com/form", nil))
	res := rec.Result()
	body, _ := io.ReadAll(res.Body)
	if len(res.Cookies()) == 0 || len(body) == 0 {
		b.Fatalf("no token: %q %q", res.Header.Values("Set-Cookie"), body)
	}
	return res.Cookies(), string(body)
}

func tokenApp(token func(*http.Request) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			io.WriteString(w, token(r))
		}
	})
}

func BenchmarkCSRFFetchMetadata(b *testing.B) {
	b.Run("bulwark", func(b *testing.B) {
		p, err := csrf.New(csrf.Config{InsecureSkipTokens: true, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		run(b, p.Handler(okApp), samePOST())
	})
	b.Run("net-http-CrossOriginProtection", func(b *testing.B) {
		run(b, http.NewCrossOriginProtection().Handler(okApp), samePOST())
	})
}

func BenchmarkCSRFToken(b *testing.B) {
	b.Run("bulwark", func(b *testing.B) {
		p, err := csrf.New(csrf.Config{Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		h := p.Handler(tokenApp(csrf.Token))
		cookies, token := tokenFor(b, h)
		r := samePOST()
		for _, c := range cookies {
			r.AddCookie(c)
		}
		r.Header.Set("X-CSRFToken", token)
		run(b, h, r)
	})
	b.Run("gorilla-csrf", func(b *testing.B) {
		h := gorilla.Protect([]byte("0123456789abcdef0123456789abcdef"))(tokenApp(gorilla.Token))
		cookies, token := tokenFor(b, h)
		r := samePOST()
		for _, c := range cookies {
			r.AddCookie(c)
		}
		r.Header.Set("X-CSRF-Token", token)
		run(b, h, r)
	})
	b.Run("nosurf", func(b *testing.B) {
		h := nosurf.New(tokenApp(nosurf.Token))
		cookies, token := tokenFor(b, h)
		r := samePOST()
		for _, c := range cookies {
			r.AddCookie(c)
		}
		r.Header.Set("X-CSRF-Token", token)
		run(b, h, r)
	})
}
