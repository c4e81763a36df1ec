package hosts_test

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bulwarkdev/bulwark/hosts"
	"github.com/bulwarkdev/bulwark/trustedproxy"
)

// nopWriter is a ResponseWriter that allocates nothing.
type nopWriter struct{ h http.Header }

func (w nopWriter) Header() http.Header       { return w.h }
func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (nopWriter) WriteHeader(int)             {}

// TestHotPathAllocs pins the cost of trustedproxy and hosts on an accepted
// request: two allocations, whatever the headers (the context node that
// holds the Facts, and the shallow copy of the request). Check and Facts
// allocate nothing.
func TestHotPathAllocs(t *testing.T) {
	tpXFF, err := trustedproxy.New(trustedproxy.Config{
		Trusted: []string{"10.0.0.0/8", "loopback"}, SSLHeader: "X-Forwarded-Proto", SSLHeaderValue: "https",
		UseForwardedHost: true, UseForwardedPort: true, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	tpFwd, err := trustedproxy.New(trustedproxy.Config{Trusted: []string{"10.0.0.0/8"}, ClientHeader: "Forwarded", UseForwardedHost: true})
	if err != nil {
		t.Fatal(err)
	}
	hv, err := hosts.New(hosts.Config{Allowed: []string{"example.com", ".example.org"}})
	if err != nil {
		t.Fatal(err)
	}
	var app http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := hosts.Host(r); !ok {
			t.Error("host not validated")
		}
	})

	plain := httptest.NewRequest(http.MethodGet, "/", nil)
	plain.RemoteAddr, plain.Host = "198.51.100.9:1234", "example.com"

	proxied := httptest.NewRequest(http.MethodGet, "/", nil)
	proxied.RemoteAddr, proxied.Host, proxied.TLS = "10.0.0.1:1234", "internal", &tls.ConnectionState{}
	proxied.Header.Set("X-Forwarded-For", "192.0.2.66, 203.0.113.7, 10.0.0.5")
	proxied.Header.Set("X-Forwarded-Proto", "https")
	proxied.Header.Set("X-Forwarded-Host", "WWW.Example.org:443")
	proxied.Header.Set("X-Forwarded-Port", "443")

	forwarded := httptest.NewRequest(http.MethodGet, "/", nil)
	forwarded.RemoteAddr, forwarded.Host = "10.0.0.1:1234", "internal"
	forwarded.Header.Set("Forwarded", `for=192.0.2.66, for="[2001:db8::1]:4711";proto=https;host=example.com, for=10.0.0.5`)

	// As a real server does, tell the requests their listener (8443: not
	// a port whose string form Go keeps precomputed).
	for _, r := range []*http.Request{plain, proxied, forwarded} {
		*r = *r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, &net.TCPAddr{IP: net.IPv4(10, 9, 9, 9), Port: 8443}))
	}

	w := nopWriter{h: http.Header{}}
	for _, tt := range []struct {
		name string
		h    http.Handler
		r    *http.Request
		max  float64
	}{
		{"trustedproxy+hosts, direct GET", tpXFF.Handler(hv.Handler(app)), plain, 2},
		{"trustedproxy+hosts, X-Forwarded-* from a proxy", tpXFF.Handler(hv.Handler(app)), proxied, 2},
		{"trustedproxy+hosts, Forwarded from a proxy", tpFwd.Handler(hv.Handler(app)), forwarded, 2},
		{"hosts alone", hv.Handler(app), plain, 2},
	} {
		got := testing.AllocsPerRun(200, func() { tt.h.ServeHTTP(w, tt.r) })
		if got > tt.max {
			t.Errorf("%s: %v allocations per request, want at most %v", tt.name, got, tt.max)
		}
	}

	if got := testing.AllocsPerRun(200, func() {
		if _, err := tpXFF.Facts(proxied); err != nil {
			t.Fatal(err)
		}
		if _, err := tpFwd.Facts(forwarded); err != nil {
			t.Fatal(err)
		}
		if err := hv.Check(plain); err != nil {
			t.Fatal(err)
		}
	}); got != 0 {
		t.Errorf("Facts and Check: %v allocations, want 0", got)
	}
}

func BenchmarkChain(b *testing.B) {
	tp, err := trustedproxy.New(trustedproxy.Config{Trusted: []string{"10.0.0.0/8"}, SSLHeader: "X-Forwarded-Proto", SSLHeaderValue: "https"})
	if err != nil {
		b.Fatal(err)
	}
	hv, err := hosts.New(hosts.Config{Allowed: []string{"example.com"}})
	if err != nil {
		b.Fatal(err)
	}
	h := tp.Handler(hv.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr, r.Host = "10.0.0.1:1234", "example.com"
	r.Header.Set("X-Forwarded-For", "203.0.113.7")
	r.Header.Set("X-Forwarded-Proto", "https")
	w := nopWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
}
