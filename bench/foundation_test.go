package bench

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bulwarkdev/bulwark"
	"github.com/bulwarkdev/bulwark/headers"
	"github.com/bulwarkdev/bulwark/hosts"
	"github.com/bulwarkdev/bulwark/httpsonly"
	"github.com/bulwarkdev/bulwark/trustedproxy"
	"github.com/unrolled/secure"
)

// The same deployment for both: site example.com behind a TLS-terminating
// proxy at 10.0.0.1 that sends X-Forwarded-Proto; redirect plain HTTP;
// HSTS one year with subdomains; nosniff; X-Frame-Options DENY;
// Referrer-Policy and COOP same-origin.

func foundationBulwark(b *testing.B) http.Handler {
	bw, err := bulwark.New(bulwark.Config{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Proxy:  trustedproxy.Config{Trusted: []string{"10.0.0.0/8"}, SSLHeader: "X-Forwarded-Proto", SSLHeaderValue: "https"},
		Hosts:  hosts.Config{Allowed: []string{"example.com"}},
		HTTPS:  httpsonly.Config{HSTSIncludeSubdomains: true},
		// Headers: the zero value is nosniff, DENY, same-origin, same-origin.
	})
	if err != nil {
		b.Fatal(err)
	}
	return bw.Handler(okHandler)
}

func foundationSecure() http.Handler {
	s := secure.New(secure.Options{
		AllowedHosts:            []string{"example.com"},
		SSLRedirect:             true,
		SSLProxyHeaders:         map[string]string{"X-Forwarded-Proto": "https"},
		STSSeconds:              31536000,
		STSIncludeSubdomains:    true,
		ContentTypeNosniff:      true,
		FrameDeny:               true,
		ReferrerPolicy:          "same-origin",
		CrossOriginOpenerPolicy: "same-origin",
	})
	return s.Handler(okHandler)
}

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })

// sink is a ResponseWriter that keeps only the header and status, reused
// across iterations so both middlewares are measured, not the recorder.
type sink struct {
	h    http.Header
	code int
}

func (s *sink) Header() http.Header         { return s.h }
func (s *sink) Write(b []byte) (int, error) { return len(b), nil }
func (s *sink) WriteHeader(code int)        { s.code = code }

func proxiedGET() *http.Request {
	r := httptest.NewRequest("GET", "http://example.com/account/settings?tab=security", nil)
	r.RemoteAddr = "10.0.0.1:54321"
	r.Header.Set("X-Forwarded-Proto", "https")
	r.Header.Set("X-Forwarded-For", "203.0.113.7")
	return r
}

func plainGET() *http.Request {
	r := httptest.NewRequest("GET", "http://example.com/account/settings?tab=security", nil)
	r.RemoteAddr = "203.0.113.7:54321"
	return r
}

func runFoundation(b *testing.B, h http.Handler, r *http.Request, want int, wantHeader string) {
	w := &sink{h: make(http.Header, 8)}
	h.ServeHTTP(w, r)
	if w.code != want || wantHeader != "" && w.h.Get(wantHeader) == "" {
		b.Fatalf("status %d, header %s=%q, want %d", w.code, wantHeader, w.h.Get(wantHeader), want)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, r)
	}
}

// BenchmarkFoundation measures (a) an HTTPS GET forwarded by the trusted
// proxy through the whole chain, and (b) the plain-HTTP redirect.
func BenchmarkFoundation(b *testing.B) {
	b.Run("GET/bulwark", func(b *testing.B) {
		runFoundation(b, foundationBulwark(b), proxiedGET(), 200, "Strict-Transport-Security")
	})
	b.Run("GET/unrolled-secure", func(b *testing.B) {
		runFoundation(b, foundationSecure(), proxiedGET(), 200, "Strict-Transport-Security")
	})
	b.Run("redirect/bulwark", func(b *testing.B) {
		runFoundation(b, foundationBulwark(b), plainGET(), 301, "Location")
	})
	b.Run("redirect/unrolled-secure", func(b *testing.B) {
		runFoundation(b, foundationSecure(), plainGET(), 301, "Location")
	})
}

// BenchmarkFoundationLayers measures Bulwark's layers one at a time on the
// same forwarded HTTPS GET, to show where the composed chain's time goes.
func BenchmarkFoundationLayers(b *testing.B) {
	tp, err := trustedproxy.New(trustedproxy.Config{Trusted: []string{"10.0.0.0/8"}, SSLHeader: "X-Forwarded-Proto", SSLHeaderValue: "https"})
	if err != nil {
		b.Fatal(err)
	}
	hv, err := hosts.New(hosts.Config{Allowed: []string{"example.com"}})
	if err != nil {
		b.Fatal(err)
	}
	hs, err := httpsonly.New(httpsonly.Config{HSTSIncludeSubdomains: true})
	if err != nil {
		b.Fatal(err)
	}
	hd, err := headers.New(headers.Config{})
	if err != nil {
		b.Fatal(err)
	}
	// Facts as the first two layers leave them, for the later layers.
	var withFacts *http.Request
	tp.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { withFacts = r })).ServeHTTP(&sink{h: http.Header{}}, proxiedGET())
	hv.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})).ServeHTTP(&sink{h: http.Header{}}, withFacts)
	b.Run("trustedproxy", func(b *testing.B) { runFoundation(b, tp.Handler(okHandler), proxiedGET(), 200, "") })
	b.Run("hosts", func(b *testing.B) { runFoundation(b, hv.Handler(okHandler), withFacts, 200, "") })
	b.Run("httpsonly", func(b *testing.B) {
		runFoundation(b, hs.Handler(okHandler), withFacts, 200, "Strict-Transport-Security")
	})
	b.Run("headers", func(b *testing.B) { runFoundation(b, hd.Handler(okHandler), withFacts, 200, "X-Frame-Options") })
}
