package limits_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bulwarkdev/bulwark/limits"
	"github.com/bulwarkdev/bulwark/trustedproxy"
)

// TestFromInnermost: the limits in effect are always those of the
// innermost Handler or With, whether the outer ones live in the request's
// Facts or in context values.
func TestFromInnermost(t *testing.T) {
	mk := func(n int) *limits.Limiter {
		l, err := limits.New(limits.Config{Values: limits.Values{MaxFields: n}})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	resolver, err := trustedproxy.New(trustedproxy.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var got int
	probe := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = limits.From(r).MaxFields })
	with := func(n int, next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			lim := limits.From(r)
			lim.MaxFields = n
			next.ServeHTTP(w, limits.With(r, lim))
		})
	}
	tests := []struct {
		name string
		h    http.Handler
		want int
	}{
		{"facts, one limiter", resolver.Handler(mk(11).Handler(probe)), 11},
		{"facts, nested limiters", resolver.Handler(mk(11).Handler(mk(12).Handler(probe))), 12},
		{"facts, With behind the limiter", resolver.Handler(mk(11).Handler(with(13, probe))), 13},
		{"facts, With in front of the limiter", resolver.Handler(with(13, mk(11).Handler(probe))), 11},
		{"With before the facts", with(13, resolver.Handler(mk(11).Handler(probe))), 11},
		{"limiter before the facts", mk(12).Handler(resolver.Handler(mk(11).Handler(probe))), 11},
		{"limiter before a second resolver", resolver.Handler(mk(11).Handler(resolver.Handler(probe))), 11},
		{"no facts", mk(11).Handler(mk(12).Handler(probe)), 12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got = -1
			tt.h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
			if got != tt.want {
				t.Errorf("MaxFields = %d, want %d", got, tt.want)
			}
		})
	}
	// After the inner handlers return, the outer code sees its own limits.
	var after int
	h := resolver.Handler(mk(11).Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mk(12).Handler(probe).ServeHTTP(w, r)
		with(13, probe).ServeHTTP(w, r)
		after = limits.From(r).MaxFields
	})))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	if after != 11 {
		t.Errorf("outer code after nested handlers: MaxFields = %d, want 11", after)
	}
}
