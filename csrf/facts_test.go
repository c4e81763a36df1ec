package csrf_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bulwarkdev/bulwark/csrf"
	"github.com/bulwarkdev/bulwark/trustedproxy"
)

// TestStateWithFacts: behind the record's creator the first Protection keeps its
// state in the request's record; Token works behind it, behind a second
// resolver, and behind a second Protection (whose secret is its own).
func TestStateWithFacts(t *testing.T) {
	resolver, err := trustedproxy.New(trustedproxy.Config{})
	if err != nil {
		t.Fatal(err)
	}
	outer := mustNew(t, csrf.Config{})
	inner := mustNew(t, csrf.Config{CookieName: "inner"})
	var tok string
	token := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { tok = csrf.Token(r) })
	tests := []struct {
		name    string
		h       http.Handler
		cookies []string
	}{
		{"facts in front", resolver.Handler(outer.Handler(token)), []string{"csrftoken"}},
		{"facts behind", outer.Handler(resolver.Handler(token)), []string{"csrftoken"}},
		{"second resolver", resolver.Handler(outer.Handler(resolver.Handler(token))), []string{"csrftoken"}},
		{"nested protections", resolver.Handler(outer.Handler(inner.Handler(token))), []string{"inner"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok = ""
			rec := httptest.NewRecorder()
			tt.h.ServeHTTP(rec, httptest.NewRequest("GET", "http://example.com/", nil))
			if len(tok) != 64 {
				t.Fatalf("Token = %q, want a 64-character token", tok)
			}
			var names []string
			for _, c := range rec.Result().Cookies() {
				names = append(names, c.Name)
			}
			if len(names) != len(tt.cookies) || names[0] != tt.cookies[0] {
				t.Errorf("cookies %v, want %v", names, tt.cookies)
			}
		})
	}
}
