package bulwark_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark"
	"github.com/bulwarkdev/bulwark/session"
)

// TestSessionStoreDownKeepsSecurityHeaders: the 503 that replaces a
// response after a session store failure still carries the headers set in
// front of the session layer (security headers, HSTS), and none of what
// the application set on the response it lost.
func TestSessionStoreDownKeepsSecurityHeaders(t *testing.T) {
	c := siteConfig()
	c.Session.Store = downStore{}
	c.CSRF.UseSessions = true
	b, err := bulwark.New(c)
	if err != nil {
		t.Fatal(err)
	}
	h := b.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-App", "secret-ish")
		w.Header().Set("Content-Disposition", "attachment")
		// A handler replacing a security header: its version goes too.
		w.Header().Set("X-Frame-Options", "SAMEORIGIN")
		http.SetCookie(w, &http.Cookie{Name: "app", Value: "1"})
		session.Get[string](r, "user") // the store is down
		w.Write([]byte("private page"))
	}))

	tests := []struct {
		name string
		req  func() *http.Request
	}{
		{"GET reading the session", func() *http.Request {
			r := httptest.NewRequest("GET", "https://example.com/", nil)
			r.AddCookie(&http.Cookie{Name: "__Host-session", Value: strings.Repeat("A", 43)})
			return r
		}},
		{"attack: POST whose CSRF check hits the store", func() *http.Request {
			r := httptest.NewRequest("POST", "https://example.com/", nil)
			r.Header.Set("Sec-Fetch-Site", "same-origin")
			r.Header.Set("X-CSRFToken", strings.Repeat("a", 64))
			r.AddCookie(&http.Cookie{Name: "__Host-session", Value: strings.Repeat("A", 43)})
			return r
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, tt.req())
			if w.Code != http.StatusServiceUnavailable {
				t.Fatalf("status %d, want 503", w.Code)
			}
			if got := w.Body.String(); got != http.StatusText(http.StatusServiceUnavailable) {
				t.Errorf("body %q, want the status text", got)
			}
			hd := w.Header()
			for name, want := range map[string]string{
				"Strict-Transport-Security":  "max-age=31536000",
				"X-Content-Type-Options":     "nosniff",
				"X-Frame-Options":            "DENY",
				"Referrer-Policy":            "same-origin",
				"Cross-Origin-Opener-Policy": "same-origin",
				"Cache-Control":              "no-store",
				"Content-Type":               "text/plain; charset=utf-8",
			} {
				if got := hd.Values(name); len(got) != 1 || got[0] != want {
					t.Errorf("%s = %q, want [%q]", name, got, want)
				}
			}
			for _, name := range []string{"X-App", "Set-Cookie", "Content-Disposition"} {
				if got := hd.Values(name); len(got) != 0 {
					t.Errorf("%s = %q on the 503, want none", name, got)
				}
			}
		})
	}
}
