package gateway_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/gateway"
)

// The HTTP listener redirects to the HTTPS listener's port when no public
// port is configured, never to the port of the plain request.
func TestRedirectGoesToHTTPSListenerPort(t *testing.T) {
	e := start(t, nil, func(c *gateway.Config) { c.HTTPS.RedirectPort = 0 })
	resp, _ := e.get(e.http + "/a?x=1")
	if resp.StatusCode != http.StatusMovedPermanently {
		t.Fatalf("status %d, want 301", resp.StatusCode)
	}
	if got, want := resp.Header.Get("Location"), e.https+"/a?x=1"; got != want {
		t.Errorf("Location = %q, want %q (the HTTPS listener's port)", got, want)
	}
	// Following it lands on TLS.
	resp, body := e.get(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusOK || resp.TLS == nil {
		t.Fatalf("following the redirect: status %d, TLS %v: %q", resp.StatusCode, resp.TLS != nil, body)
	}
	if got := decodeEcho(t, body).Path; got != "/a" {
		t.Errorf("the upstream saw path %q, want /a", got)
	}
}

// Behind a proxy that terminates TLS, clients never see listen.https: the
// redirect of a request the proxy marks plain HTTP keeps the public host
// and port the proxy reports.
func TestRedirectBehindTLSProxy(t *testing.T) {
	e := start(t, nil, func(c *gateway.Config) {
		c.HTTPS.RedirectPort = 0
		c.Proxy.Trusted = []string{"127.0.0.0/8"}
		c.Proxy.SSLHeader, c.Proxy.SSLHeaderValue = "X-Forwarded-Proto", "https"
	})
	resp, _ := e.get(e.http+"/a", "Host", siteHost, "X-Forwarded-Proto", "http")
	if got, want := resp.Header.Get("Location"), "https://"+siteHost+"/a"; resp.StatusCode != http.StatusMovedPermanently || got != want {
		t.Errorf("%d Location %q, want 301 to %q", resp.StatusCode, got, want)
	}
	resp, body := e.get(e.http+"/a", "Host", siteHost, "X-Forwarded-Proto", "https")
	if resp.StatusCode != http.StatusOK {
		t.Errorf("marked https by the proxy: %d %q", resp.StatusCode, body)
	}
}

func TestRedirectPortDefaults(t *testing.T) {
	for _, tc := range []struct {
		name       string
		https      string
		configured int
		want       int
	}{
		{"standard port", ":443", 0, 443},
		{"other port", "127.0.0.1:8443", 0, 8443},
		{"public port wins", ":8443", 443, 443},
		{"bound later", "127.0.0.1:0", 0, 0},
		{"a proxy terminates TLS: the port it reports", ":8443", 0, 0},
		{"a proxy terminates TLS, public port set", ":8443", 443, 443},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c gateway.Config
			c.Listen.HTTPS = tc.https
			c.HTTPS.RedirectPort = tc.configured
			if strings.HasPrefix(tc.name, "a proxy") {
				c.Proxy.Trusted = []string{"10.0.0.0/8"}
				c.Proxy.SSLHeader, c.Proxy.SSLHeaderValue = "X-Forwarded-Proto", "https"
			}
			if got := c.WithDefaults().HTTPS.RedirectPort; got != tc.want {
				t.Errorf("redirect_port = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestRedirectPortOnPlainListenerRefused(t *testing.T) {
	const base = "[upstream]\nurl = \"http://127.0.0.1:8000\"\n[tls]\ncert_file = \"c.pem\"\nkey_file = \"k.pem\"\n"
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"redirect to the http listener", base + "[listen]\nhttps = \":8443\"\nhttp = \":8080\"\n[https]\nredirect_port = 8080\n", "https.redirect_port 8080 is the port of listen.http"},
		{"public port", base + "[listen]\nhttps = \":8443\"\nhttp = \":8080\"\n[https]\nredirect_port = 443\n", ""},
		{"default", base + "[listen]\nhttps = \":8443\"\nhttp = \":8080\"\n", ""},
		{"http off", base + "[listen]\nhttps = \":8443\"\nhttp = \"off\"\n[https]\nredirect_port = 8080\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := gateway.Parse([]byte(tc.doc))
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// With no uploads.paths, every path is inspected; uploads.exempt_paths
// lets a view have the body uninspected.
func TestUploadInspectionEveryPathByDefault(t *testing.T) {
	e := start(t, nil, func(c *gateway.Config) { c.Uploads.ExemptPaths = []string{"/api/import/"} })
	clean := pngBytes(t)
	polyglot := append(append([]byte{}, clean...), []byte("<html><script>alert(document.cookie)</script></html>")...)
	for _, tc := range []struct {
		name    string
		path    string
		content []byte
		want    int
		reached bool
	}{
		{"a clean png through the admin reaches the upstream", "/admin/shop/product/add/", clean, 200, true},
		{"attack: a polyglot through the admin is refused", "/admin/shop/product/add/", polyglot, 415, false},
		{"attack: a polyglot on any view is refused", "/echo", polyglot, 415, false},
		{"an exempt path is forwarded as sent", "/api/import/csv", polyglot, 200, true},
		// The canonicalizer merges doubled slashes before any layer runs:
		// the exemption matches the path the upstream receives.
		{"doubled slashes are merged before the exemption is matched", "//api/import/csv", polyglot, 200, true},
		{"attack: doubled slashes out of the exemption are inspected", "/api//x/../import/csv", polyglot, 400, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.up.hits.Load()
			body, ct := multipartBody(t, "f", "a.png", tc.content)
			size := body.Len()
			req, _ := http.NewRequest("POST", e.https+tc.path, body)
			req.URL.Opaque = "//" + req.URL.Host + tc.path
			req.Header.Set("Content-Type", ct)
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			resp, got := e.do(req)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d %q, want %d", resp.StatusCode, got, tc.want)
			}
			if reached := e.up.hits.Load() > before; reached != tc.reached {
				t.Fatalf("upstream reached = %v, want %v", reached, tc.reached)
			}
			if tc.reached {
				ec := decodeEcho(t, got)
				if ec.BodyLen != size {
					t.Errorf("upstream read %d bytes, the client sent %d", ec.BodyLen, size)
				}
				if want := strings.ReplaceAll(tc.path, "//", "/"); ec.Path != want {
					t.Errorf("upstream path %q, want %q", ec.Path, want)
				}
			}
		})
	}
	if got := e.g.Config().Uploads.Paths; len(got) != 1 || got[0] != "/" {
		t.Errorf("effective uploads.paths = %q, want [/]", got)
	}
}

// The public health path answers on both listeners for any host, before
// host validation and the redirect; allow_networks limits who gets it.
func TestPublicHealthPath(t *testing.T) {
	e := start(t, nil, func(c *gateway.Config) { c.Health.Path = "/-/health" })
	waitFor(t, "first health check", func() bool {
		resp, _ := e.get(e.https+"/-/health", "Host", "10.1.2.3")
		return resp.StatusCode == http.StatusOK
	})
	before := e.up.hits.Load()
	for _, u := range []string{e.https, e.http} {
		resp, body := e.get(u+"/-/health", "Host", "unlisted.example")
		if resp.StatusCode != http.StatusOK || body != "ok\n" {
			t.Errorf("%s: %d %q, want 200 ok", u, resp.StatusCode, body)
		}
		if resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q", u, resp.Header.Get("Cache-Control"))
		}
	}
	if e.up.hits.Load() != before {
		t.Errorf("the health path reached the upstream")
	}
	// Another path, or another method, is an ordinary request.
	if resp, _ := e.get(e.https+"/-/health/x", "Host", "unlisted.example"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unlisted host on another path: %d, want 400", resp.StatusCode)
	}
	req, _ := http.NewRequest("POST", e.https+"/-/health", nil)
	req.Host = "unlisted.example"
	if resp, _ := e.do(req); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("POST with an unlisted host: %d, want 400", resp.StatusCode)
	}

	// The upstream goes down: 503.
	e.up.Close()
	waitFor(t, "the upstream seen down", func() bool {
		resp, _ := e.get(e.https+"/-/health", "Host", "unlisted.example")
		return resp.StatusCode == http.StatusServiceUnavailable
	})
}

func TestPublicHealthPathNetworks(t *testing.T) {
	e := start(t, nil, func(c *gateway.Config) {
		c.Health.Path = "/-/health"
		c.Health.Live = true
		c.Health.AllowNetworks = []string{"10.0.0.0/8"}
	})
	// Loopback is not in the list: the chain runs (unlisted host: 400).
	if resp, _ := e.get(e.https+"/-/health", "Host", "unlisted.example"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("from outside allow_networks: %d, want 400", resp.StatusCode)
	}
	e2 := start(t, nil, func(c *gateway.Config) {
		c.Health.Path = "/-/health"
		c.Health.Live = true
		c.Health.AllowNetworks = []string{"127.0.0.0/8"}
	})
	if resp, body := e2.get(e2.http+"/-/health", "Host", "unlisted.example"); resp.StatusCode != http.StatusOK {
		t.Errorf("live check from an allowed network: %d %q, want 200", resp.StatusCode, body)
	}
}

func TestHealthConfigValidated(t *testing.T) {
	const base = "[upstream]\nurl = \"http://127.0.0.1:8000\"\n[tls]\ncert_file = \"c.pem\"\nkey_file = \"k.pem\"\n"
	for _, tc := range []struct{ doc, want string }{
		{base + "[health]\npath = \"healthz\"\n", "health.path"},
		{base + "[health]\npath = \"/a/../healthz\"\n", "health.path"},
		{base + "[health]\nlive = true\n", "no path"},
		{base + "[health]\npath = \"/healthz\"\nallow_networks = [\"10.0.0.1\"]\n", "CIDR"},
		{base + "[health]\npath = \"/healthz\"\nallow_networks = [\"10.0.0.0/8\", \"::1/128\"]\n", ""},
	} {
		_, err := gateway.Parse([]byte(tc.doc))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q: %v", tc.doc, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%q: error %v, want %q", tc.doc, err, tc.want)
		}
	}
}
