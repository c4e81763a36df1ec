package gateway_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/gateway"
	"github.com/bulwarkdev/bulwark/internal/refusal/refusaltest"
	"github.com/bulwarkdev/bulwark/internal/uploadcorpus"
)

// TestRefusalEventShape drives one refusal of each kind through a running
// gateway behind a trusted proxy (the test client, on loopback) and checks
// that each logs exactly one event of the one shape, names the client
// behind the proxy, never reaches the upstream, and is counted by its
// reason as is.
func TestRefusalEventShape(t *testing.T) {
	const client = "203.0.113.7"
	e := start(t, nil, func(c *gateway.Config) {
		c.Proxy.Trusted = []string{"loopback"}
		c.Proxy.SSLHeader, c.Proxy.SSLHeaderValue = "X-Forwarded-Proto", "https"
		c.Limits.MaxBodyBytes = 1024
		c.Uploads.Paths = []string{"/upload/"}
	})
	upload, uploadType := uploadcorpus.Form("avatar", "cat.png", []byte("<html><script>alert(1)</script></html>"))

	tests := []struct {
		name      string
		method    string
		base      string // e.https (default) or e.http
		target    string
		host      string
		hdr       map[string]string
		body      string
		status    int
		event     string
		reason    string
		client    string // "" means the client behind the proxy
		validated bool   // the event names the validated host, else the quoted raw one
	}{
		{name: "malformed forwarded header", target: "/echo", hdr: map[string]string{"X-Forwarded-For": client + ", not-an-ip"},
			status: 400, event: "forwarded_malformed", reason: "invalid_address", client: "127.0.0.1"},
		{name: "disallowed host", target: "/echo", host: "evil.test", status: 400, event: "disallowed_host", reason: "host_not_allowed"},
		{name: "dot segment", method: "POST", target: "/app/../echo", status: 400, event: "path_refused", reason: "dot_segment"},
		{name: "redirect location too long", base: "http", target: "/" + strings.Repeat("a", 17000), hdr: map[string]string{"X-Forwarded-Proto": "http"},
			status: 400, event: "disallowed_redirect", reason: "location_too_long", validated: true},
		{name: "cross-site post", method: "POST", target: "/echo", hdr: map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.test"},
			status: 403, event: "csrf_failure", reason: "bad_origin", validated: true},
		{name: "body too large", method: "POST", target: "/echo", body: strings.Repeat("a", 2048),
			hdr: map[string]string{"Content-Type": "application/octet-stream", "Sec-Fetch-Site": "same-origin"}, status: 413, event: "request_too_large", reason: "max_body_bytes", validated: true},
		{name: "upload refused", method: "POST", target: "/upload/avatar", body: upload,
			hdr: map[string]string{"Content-Type": uploadType, "Sec-Fetch-Site": "same-origin"}, status: 415, event: "upload_refused", reason: "html", validated: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.logs.String()
			hits := e.up.hits.Load()
			method := tt.method
			if method == "" {
				method = "GET"
			}
			base := e.https
			if tt.base == "http" {
				base = e.http
			}
			req, err := http.NewRequest(method, base+tt.target, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.host != "" {
				req.Host = tt.host
			}
			req.Header.Set("X-Forwarded-For", client)
			req.Header.Set("X-Forwarded-Proto", "https")
			for k, v := range tt.hdr {
				req.Header.Set(k, v)
			}
			resp, _ := e.do(req)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if n := e.up.hits.Load() - hits; n != 0 {
				t.Errorf("the upstream saw %d requests", n)
			}
			var logs string
			waitFor(t, "the events", func() bool {
				logs = strings.TrimPrefix(e.logs.String(), before)
				return len(refusaltest.Events(t, logs, "access")) == 1
			})
			evs := refusaltest.Events(t, logs, tt.event)
			if len(evs) != 1 {
				t.Fatalf("want exactly one %s event, got %s", tt.event, logs)
			}
			if evs[0]["reason"] != tt.reason {
				t.Errorf("reason %v, want %s", evs[0]["reason"], tt.reason)
			}
			want := tt.client
			if want == "" {
				want = client
			}
			validated := ""
			if tt.validated {
				validated = siteHost + ":" + hostPort(base)
			}
			if err := refusaltest.Check(evs[0], want, validated); err != nil {
				t.Errorf("%v: %v", err, evs[0])
			}
		})
	}

	// The metrics count each refusal by its reason as logged.
	r, err := http.Get(e.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	for _, tt := range tests {
		want := `bulwark_refusals_total{event="` + tt.event + `",reason="` + tt.reason + `"} 1`
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %s:\n%s", want, grepLines(string(b), "bulwark_refusals_total"))
		}
	}
}

func hostPort(base string) string {
	i := strings.LastIndexByte(base, ':')
	return base[i+1:]
}
