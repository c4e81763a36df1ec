package csrf_test

import (
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/csrf"
	"github.com/bulwarkdev/bulwark/hosts"
	"github.com/bulwarkdev/bulwark/trustedproxy"
)

// In the real chain the scheme comes from trustedproxy (X-Forwarded-Proto
// only from a trusted proxy) and the host from hosts: an https Origin
// matches behind a TLS-terminating proxy, and a client that spoofs the
// proxy header directly gains nothing.
func TestChainFacts(t *testing.T) {
	quiet := slog.New(slog.DiscardHandler)
	tp, err := trustedproxy.New(trustedproxy.Config{Trusted: []string{"10.0.0.0/8"}, SSLHeader: "X-Forwarded-Proto", SSLHeaderValue: "https", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	hv, err := hosts.New(hosts.Config{Allowed: []string{"example.com"}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	p := mustNew(t, csrf.Config{InsecureSkipTokens: true})
	tests := []struct {
		name, peer, proto, origin string
		want                      int
	}{
		{"behind the proxy, https origin", "10.0.0.1:4000", "https", "https://example.com", 200},
		{"attack: behind the proxy, http origin", "10.0.0.1:4000", "https", "http://example.com", 403},
		{"direct client, http origin", "203.0.113.5:4000", "", "http://example.com", 200},
		{"attack: direct client spoofing the proxy header", "203.0.113.5:4000", "https", "https://example.com", 403},
		{"attack: look-alike origin behind the proxy", "10.0.0.1:4000", "https", "https://example.com.evil.test", 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &counter{}
			h := tp.Handler(hv.Handler(p.Handler(c)))
			r := httptest.NewRequest("POST", "http://example.com/transfer", nil)
			r.RemoteAddr = tt.peer
			r.Header.Set("Origin", tt.origin)
			if tt.proto != "" {
				r.Header.Set("X-Forwarded-Proto", tt.proto)
			}
			if res := serve(h, r); res.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", res.StatusCode, tt.want)
			}
		})
	}
}

// A TLS-terminating proxy missing from the trusted networks makes every
// https Origin look cross-origin; the refusal's log event says so.
func TestSchemeMismatchHint(t *testing.T) {
	logs := &logCapture{}
	p := mustNew(t, csrf.Config{InsecureSkipTokens: true, Logger: slog.New(logs)})
	r := httptest.NewRequest("POST", "http://example.com/", nil)
	r.Header.Set("Origin", "https://example.com")
	if res := serve(p.Handler(&counter{}), r); res.StatusCode != 403 {
		t.Fatalf("status %d", res.StatusCode)
	}
	ev := logs.find("csrf_failure")
	if len(ev) != 1 || !strings.Contains(ev[0]["hint"], "trusted networks") {
		t.Fatalf("events %v", logs.events)
	}
}
