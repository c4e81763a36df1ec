package bulwark_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark"
	"github.com/bulwarkdev/bulwark/internal/refusal/refusaltest"
	"github.com/bulwarkdev/bulwark/internal/uploadcorpus"
	"github.com/bulwarkdev/bulwark/trustedproxy"
)

// TestRefusalEventShape drives one refusal of each kind through
// bulwark.New behind a trusted proxy and checks that each logs exactly
// one event of the one shape: the keys, slugs, the client behind the
// proxy (not the proxy), the host validated or quoted and bounded, the
// path escaped and bounded.
func TestRefusalEventShape(t *testing.T) {
	const (
		proxy  = "10.1.2.3"
		client = "203.0.113.7"
	)
	var logs bytes.Buffer
	c := fullConfig(t)
	c.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	c.Proxy = trustedproxy.Config{Trusted: []string{"10.0.0.0/8"}, SSLHeader: "X-Forwarded-Proto", SSLHeaderValue: "https"}
	c.Limits.MaxBodyBytes = 1024
	c.CSRF.InsecureSkipTokens = true // the Fetch Metadata layer alone: an upload needs no token
	b, err := bulwark.New(c)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	h := b.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))

	upload, uploadType := uploadcorpus.Form("avatar", "cat.png", []byte("<html><script>alert(1)</script></html>"))

	tests := []struct {
		name      string
		method    string
		target    string
		host      string
		hdr       map[string]string
		body      string
		status    int
		event     string
		client    string // "" means the client behind the proxy
		validated string // the validated host the event names; "" means quoted
	}{
		{name: "malformed forwarded header", target: "/", hdr: map[string]string{"X-Forwarded-For": client + ", not-an-ip"},
			status: 400, event: "forwarded_malformed", client: proxy},
		{name: "disallowed host", target: "/", host: "evil.test:443\x01" + strings.Repeat("x", 600),
			status: 400, event: "disallowed_host"},
		{name: "redirect location too long", target: "/" + strings.Repeat("a", 17000), hdr: map[string]string{"X-Forwarded-Proto": "http"},
			status: 400, event: "disallowed_redirect", validated: "example.com"},
		{name: "body too large", method: "POST", target: "/form", body: strings.Repeat("a", 2048),
			hdr: map[string]string{"Content-Type": "application/octet-stream"}, status: 413, event: "request_too_large", validated: "example.com"},
		{name: "too many fields", target: "/?" + strings.Repeat("a=1&", 1200), status: 400, event: "too_many_fields", validated: "example.com"},
		{name: "cross-site post", method: "POST", target: "/transfer", hdr: map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.test"},
			status: 403, event: "csrf_failure", validated: "example.com"},
		{name: "upload refused", method: "POST", target: "/upload/avatar", body: upload,
			hdr: map[string]string{"Content-Type": uploadType, "Sec-Fetch-Site": "same-origin"}, status: 415, event: "upload_refused", validated: "example.com"},
		{name: "media host, wrong method", method: "POST", target: "/ab/cat.png", host: mediaHost,
			hdr: map[string]string{"Sec-Fetch-Site": "same-origin"}, status: 405, event: "media_method", validated: mediaHost},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs.Reset()
			method := tt.method
			if method == "" {
				method = "GET"
			}
			r := httptest.NewRequest(method, "http://example.com/", strings.NewReader(tt.body))
			r.URL.Path, r.URL.RawQuery, _ = strings.Cut(tt.target, "?")
			r.URL.RawPath = ""
			r.RequestURI = tt.target
			r.RemoteAddr = proxy + ":4000"
			r.Host = "example.com"
			if tt.host != "" {
				r.Host = tt.host
			}
			r.Header.Set("X-Forwarded-For", client)
			r.Header.Set("X-Forwarded-Proto", "https")
			for k, v := range tt.hdr {
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d; log %s", w.Code, tt.status, logs.String())
			}
			evs := refusaltest.Events(t, logs.String(), tt.event)
			if len(evs) != 1 || strings.Count(logs.String(), "\n") != 1 {
				t.Fatalf("want exactly one %s event, got %s", tt.event, logs.String())
			}
			want := tt.client
			if want == "" {
				want = client
			}
			if err := refusaltest.Check(evs[0], want, tt.validated); err != nil {
				t.Errorf("%v: %v", err, evs[0])
			}
		})
	}
}
