package gateway_test

import (
	"bufio"
	"crypto/tls"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/gateway"
)

func TestRedirectAndHSTS(t *testing.T) {
	e := start(t, nil, nil)

	resp, _ := e.get(e.http + "/a/b?x=1")
	if resp.StatusCode != http.StatusMovedPermanently {
		t.Fatalf("HTTP GET: status %d, want 301", resp.StatusCode)
	}
	if got, want := resp.Header.Get("Location"), e.https+"/a/b?x=1"; got != want {
		t.Errorf("Location = %q, want %q", got, want)
	}
	if resp.Header.Get("Strict-Transport-Security") != "" {
		t.Errorf("HSTS sent over plain HTTP")
	}
	if e.up.hits.Load() != 0 {
		t.Errorf("the upstream saw a plain-HTTP request")
	}

	resp, body := e.get(e.https + "/a")
	if resp.StatusCode != 200 {
		t.Fatalf("HTTPS GET: status %d %q", resp.StatusCode, body)
	}
	if got := resp.Header.Values("Strict-Transport-Security"); len(got) != 1 || got[0] != "max-age=31536000" {
		t.Errorf("HSTS = %q, want exactly [max-age=31536000]", got)
	}
	for _, h := range []string{"X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy", "Cross-Origin-Opener-Policy"} {
		if len(resp.Header.Values(h)) != 1 {
			t.Errorf("%s = %q, want one value", h, resp.Header.Values(h))
		}
	}
}

func TestUpstreamSecurityHeadersDoNotDuplicate(t *testing.T) {
	e := start(t, nil, nil)
	resp, _ := e.get(e.https + "/own-headers")
	// The edge's policy wins; the upstream's copy is dropped.
	if got := resp.Header.Values("Strict-Transport-Security"); len(got) != 1 || got[0] != "max-age=31536000" {
		t.Errorf("HSTS = %q, want the edge's value once", got)
	}
	if got := resp.Header.Values("X-Frame-Options"); len(got) != 1 || got[0] != "DENY" {
		t.Errorf("X-Frame-Options = %q, want [DENY]", got)
	}
}

func TestHTTP2AndTLSVersions(t *testing.T) {
	e := start(t, nil, nil)
	c := e.newClient(true)
	resp, err := c.Get(e.https + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Errorf("proto %s, want HTTP/2", resp.Proto)
	}
	addr := "127.0.0.1:" + e.httpsPrt
	for _, tc := range []struct {
		name string
		cfg  *tls.Config
		ok   bool
	}{
		{"tls1.3", &tls.Config{MinVersion: tls.VersionTLS13}, true},
		{"tls1.2 ecdhe aead", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}}, true},
		{"tls1.1 refused", &tls.Config{MaxVersion: tls.VersionTLS11, MinVersion: tls.VersionTLS10}, false},
		{"tls1.2 cbc refused", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}}, false},
		{"tls1.2 rsa kex refused", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.RootCAs, tc.cfg.ServerName = e.pool, siteHost
			c, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", addr, tc.cfg)
			if err == nil {
				c.Close()
			}
			if (err == nil) != tc.ok {
				t.Errorf("handshake error %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestDisallowedHost(t *testing.T) {
	e := start(t, nil, nil)
	for _, tc := range []struct{ name, url, host string }{
		{"https evil", e.https + "/", "evil.com"},
		{"https suffix trick", e.https + "/", "site.test.evil.com"},
		{"http evil (no open redirect)", e.http + "/", "evil.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.get(tc.url, "Host", tc.host)
			if resp.StatusCode != http.StatusBadRequest || strings.TrimSpace(body) != "Bad Request" {
				t.Errorf("status %d body %q, want 400 Bad Request", resp.StatusCode, body)
			}
			if loc := resp.Header.Get("Location"); loc != "" {
				t.Errorf("redirected to %q", loc)
			}
		})
	}
	if n := e.up.hits.Load(); n != 0 {
		t.Errorf("the upstream saw %d requests with a disallowed host", n)
	}
	if !contains(e.logs.String(), `"event":"disallowed_host"`) {
		t.Errorf("no disallowed_host event logged")
	}
}

// spoofed are client-sent claims about the client, scheme and host.
var spoofed = []string{
	"X-Forwarded-For", "6.6.6.6",
	"X-Forwarded-Proto", "http",
	"X-Forwarded-Host", "evil.com",
	"X-Forwarded-Port", "1234",
	"X-Forwarded-Ssl", "on",
	"Forwarded", "for=6.6.6.6;proto=http;host=evil.com",
	"X-Real-Ip", "6.6.6.6",
	"X_Forwarded_For", "6.6.6.7",
	"X_forwarded_proto", "http",
	"X_FORWARDED_HOST", "evil.com",
	"X_Real_IP", "6.6.6.8",
	"True-Client-Ip", "6.6.6.9",
}

func TestForwardedHeadersStrippedFromUntrustedPeer(t *testing.T) {
	e := start(t, nil, nil)
	resp, body := e.get(e.https+"/echo?q=1;x=2", spoofed...)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d %q", resp.StatusCode, body)
	}
	got := decodeEcho(t, body)
	for name, v := range got.Header {
		if strings.Contains(strings.Join(v, ","), "6.6.6") || strings.Contains(strings.Join(v, ","), "evil") {
			t.Errorf("upstream received spoofed %s: %q", name, v)
		}
	}
	for _, h := range []string{"Forwarded", "X-Real-Ip", "X-Forwarded-Ssl", "True-Client-Ip", "X_Forwarded_For", "X_forwarded_proto", "X_FORWARDED_HOST", "X_Real_IP"} {
		if _, ok := got.Header[http.CanonicalHeaderKey(h)]; ok {
			t.Errorf("upstream received %s", h)
		}
	}
	want := map[string]string{
		"X-Forwarded-For":   "127.0.0.1",
		"X-Forwarded-Proto": "https",
		"X-Forwarded-Host":  siteHost + ":" + e.httpsPrt,
		"X-Forwarded-Port":  e.httpsPrt, // the gateway's value, not the client's 1234
	}
	for k, v := range want {
		if g := got.Header.Values(k); len(g) != 1 || g[0] != v {
			t.Errorf("upstream %s = %q, want [%q]", k, g, v)
		}
	}
	if got.Host != siteHost+":"+e.httpsPrt {
		t.Errorf("upstream Host = %q", got.Host)
	}
	if got.Query != "q=1;x=2" {
		t.Errorf("upstream query = %q, want the client's bytes", got.Query)
	}
}

func TestForwardedHeadersFromTrustedProxyPass(t *testing.T) {
	e := start(t, nil, func(c *gateway.Config) {
		c.Proxy.Trusted = []string{"loopback"}
		c.Proxy.SSLHeader, c.Proxy.SSLHeaderValue = "X-Forwarded-Proto", "https"
	})
	resp, body := e.get(e.https+"/echo",
		"X-Forwarded-For", "203.0.113.9",
		"X-Forwarded-Proto", "https",
		"X-Real-Ip", "203.0.113.9",
		"Forwarded", "for=203.0.113.9;proto=https",
		"X_Forwarded_For", "6.6.6.6",
		"Client-Ip", "6.6.6.6", // passed through by a proxy, never its own statement
		"X-Original-Url", "/admin/")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d %q", resp.StatusCode, body)
	}
	got := decodeEcho(t, body)
	if g := got.Header.Get("X-Forwarded-For"); g != "203.0.113.9, 127.0.0.1" {
		t.Errorf("X-Forwarded-For = %q, want the proxy's chain plus the peer", g)
	}
	if g := got.Header.Get("X-Real-Ip"); g != "203.0.113.9" {
		t.Errorf("X-Real-IP from a trusted proxy = %q, want it kept", g)
	}
	if g := got.Header.Get("Forwarded"); g != "for=203.0.113.9;proto=https" {
		t.Errorf("Forwarded from a trusted proxy = %q, want it kept", g)
	}
	if _, ok := got.Header[http.CanonicalHeaderKey("X_Forwarded_For")]; ok {
		t.Errorf("underscore variant passed from behind a trusted proxy")
	}
	for _, h := range []string{"Client-Ip", "X-Original-Url"} {
		if v, ok := got.Header[h]; ok {
			t.Errorf("%s passed from behind a trusted proxy: %q", h, v)
		}
	}
	if g := got.Header.Get("X-Forwarded-Proto"); g != "https" {
		t.Errorf("X-Forwarded-Proto = %q", g)
	}
	if !contains(e.logs.String(), `"client_ip":"203.0.113.9"`) {
		t.Errorf("access log does not show the client behind the trusted proxy:\n%s", e.logs.String())
	}
}

// TestForwardedPort: the upstream's X-Forwarded-Port is the port the
// gateway established (what Django's get_port reads with
// USE_X_FORWARDED_PORT): the validated host's port, else the listener's,
// and a proxy's X-Forwarded-Port only when the proxy is trusted and the
// chain reads it. A client's own value never passes, and a Host port the
// gateway does not serve (not its listener's, not in
// forwarding.public_ports, not the trusted proxy's) is refused.
func TestForwardedPort(t *testing.T) {
	public := func(c *gateway.Config) { c.Forwarding.PublicPorts = []int{8443} }
	trust := func(useFwdPort bool) func(*gateway.Config) {
		return func(c *gateway.Config) {
			public(c)
			c.Proxy.Trusted = []string{"loopback"}
			c.Proxy.SSLHeader, c.Proxy.SSLHeaderValue = "X-Forwarded-Proto", "https"
			c.Proxy.UseForwardedPort = useFwdPort
		}
	}
	const listener = ""         // stands for the gateway's HTTPS listener port
	const refused = "(refused)" // 400, the upstream not contacted
	type portRow struct {
		name string
		hdr  []string // header name, value pairs ("Host" sets the Host)
		want string
	}
	for _, cfg := range []struct {
		name   string
		mutate func(*gateway.Config)
		rows   []portRow
	}{
		{"direct", public, []portRow{
			{"host without port", []string{"Host", siteHost}, listener},
			{"host with a public port", []string{"Host", siteHost + ":8443"}, "8443"},
			{"host with the listener's port", []string{"Host", "(listener)"}, listener},
			{"attack: host with a port not served", []string{"Host", siteHost + ":6666"}, refused},
			{"attack: port with a leading zero", []string{"Host", siteHost + ":08443"}, refused},
			{"attack: client-sent port", []string{"Host", siteHost, "X-Forwarded-Port", "1234"}, listener},
			{"attack: client-sent port, host with port", []string{"Host", siteHost + ":8443", "X-Forwarded-Port", "1234"}, "8443"},
			{"attack: underscore spelling", []string{"Host", siteHost, "X_Forwarded_Port", "1234"}, listener},
		}},
		{"trusted proxy, use_forwarded_port off", trust(false), []portRow{
			{"proxy port not read", []string{"Host", siteHost, "X-Forwarded-Proto", "https", "X-Forwarded-Port", "1234"}, listener},
			{"host with port", []string{"Host", siteHost + ":8443", "X-Forwarded-Proto", "https"}, "8443"},
			{"attack: host with a port not served", []string{"Host", siteHost + ":6666", "X-Forwarded-Proto", "https", "X-Forwarded-Port", "6666"}, refused},
		}},
		{"trusted proxy, use_forwarded_port on", trust(true), []portRow{
			{"proxy port", []string{"Host", siteHost, "X-Forwarded-Proto", "https", "X-Forwarded-Port", "8443"}, "8443"},
			{"proxy port wins over host port", []string{"Host", siteHost, "X-Forwarded-Proto", "https", "X-Forwarded-Port", "9443"}, "9443"},
			{"host port is the proxy's port", []string{"Host", siteHost + ":9443", "X-Forwarded-Proto", "https", "X-Forwarded-Port", "9443"}, "9443"},
			{"attack: host port neither served nor the proxy's", []string{"Host", siteHost + ":9000", "X-Forwarded-Proto", "https", "X-Forwarded-Port", "8443"}, refused},
			{"no proxy port", []string{"Host", siteHost, "X-Forwarded-Proto", "https"}, listener},
			{"attack: underscore spelling behind the proxy", []string{"Host", siteHost, "X-Forwarded-Proto", "https", "X_Forwarded_Port", "1234"}, listener},
		}},
	} {
		t.Run(cfg.name, func(t *testing.T) {
			e := start(t, nil, cfg.mutate)
			for _, row := range cfg.rows {
				t.Run(row.name, func(t *testing.T) {
					hdr := append([]string(nil), row.hdr...)
					if hdr[1] == "(listener)" {
						hdr[1] = siteHost + ":" + e.httpsPrt
					}
					hits := e.up.hits.Load()
					resp, body := e.get(e.https+"/echo", hdr...)
					if row.want == refused {
						if resp.StatusCode != http.StatusBadRequest {
							t.Fatalf("status %d %q, want 400", resp.StatusCode, body)
						}
						if e.up.hits.Load() != hits {
							t.Fatal("the upstream was contacted")
						}
						if !contains(e.logs.String(), `"event":"disallowed_host","reason":"port_not_served"`) {
							t.Error("no disallowed_host port_not_served event")
						}
						return
					}
					if resp.StatusCode != 200 {
						t.Fatalf("status %d %q", resp.StatusCode, body)
					}
					want := row.want
					if want == listener {
						want = e.httpsPrt
					}
					got := decodeEcho(t, body)
					if g := got.Header.Values("X-Forwarded-Port"); len(g) != 1 || g[0] != want {
						t.Errorf("upstream X-Forwarded-Port = %q, want [%q]", g, want)
					}
					if _, ok := got.Header[http.CanonicalHeaderKey("X_Forwarded_Port")]; ok {
						t.Errorf("upstream received X_Forwarded_Port")
					}
				})
			}
		})
	}
}

// TestAccessLogClientOfRefusedRequest: a request refused inside the chain
// (here by the CSRF layer) is logged with the client behind the trusted
// proxy, not with the proxy's address.
func TestAccessLogClientOfRefusedRequest(t *testing.T) {
	e := start(t, nil, func(c *gateway.Config) {
		c.Proxy.Trusted = []string{"loopback"}
		c.Proxy.SSLHeader, c.Proxy.SSLHeaderValue = "X-Forwarded-Proto", "https"
	})
	req, _ := http.NewRequest("POST", e.https+"/refused", strings.NewReader("a=1"))
	req.Header.Set("X-Forwarded-For", "203.0.113.7")
	req.Header.Set("X-Forwarded-Proto", "https")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if resp, body := e.do(req); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("status %d %q, want 403", resp.StatusCode, body)
	}
	var line string
	for _, l := range strings.Split(e.logs.String(), "\n") {
		if contains(l, `"event":"access"`) && contains(l, `"path":"/refused"`) {
			line = l
		}
	}
	if !contains(line, `"client_ip":"203.0.113.7"`) || !contains(line, `"status":403`) {
		t.Errorf("access line of the refused request: %s", line)
	}
}

func TestCookieHardening(t *testing.T) {
	e := start(t, nil, nil)
	req, _ := http.NewRequest("GET", e.https+"/cookies", nil)
	q := req.URL.Query()
	for _, c := range []string{
		"sessionid=abc; Path=/",
		"csrftoken=tok; Path=/; SameSite=Strict; Secure",
		"pref=1; Max-Age=60; Partitioned; Vendor=x",
		"odd=1; SameSite=Bogus",
		"bad name=1",
	} {
		q.Add("c", c)
	}
	req.URL.RawQuery = q.Encode()
	resp, _ := e.do(req)
	got := resp.Header.Values("Set-Cookie")
	want := []string{
		"sessionid=abc; Path=/; Secure; HttpOnly; SameSite=Lax",
		"csrftoken=tok; Path=/; SameSite=Strict; Secure",
		"pref=1; Max-Age=60; Partitioned; Vendor=x; Secure; SameSite=Lax",
		"odd=1; Secure; SameSite=Lax",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Set-Cookie =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !contains(e.logs.String(), `"event":"set_cookie_dropped"`) {
		t.Errorf("dropped cookie not logged")
	}
}

func TestNoSniffingOfUntypedResponses(t *testing.T) {
	for _, tt := range []struct {
		name          string
		allowSniffing bool
		want          []string
	}{
		{"default", false, []string{"nosniff"}},
		// The operator's choice (Django's SECURE_CONTENT_TYPE_NOSNIFF =
		// False) holds at the edge too: no nosniff from anywhere.
		{"insecure_allow_sniffing", true, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := start(t, nil, func(c *gateway.Config) { c.Headers.InsecureAllowSniffing = tt.allowSniffing })
			for _, path := range []string{"/raw", "/echo"} {
				resp, body := e.get(e.https + path)
				if ct := resp.Header.Get("Content-Type"); path == "/raw" && ct != "application/octet-stream" {
					t.Errorf("Content-Type = %q for an untyped HTML-looking body %q, want application/octet-stream", ct, body)
				}
				if v := resp.Header.Values("X-Content-Type-Options"); !slices.Equal(v, tt.want) {
					t.Errorf("%s: X-Content-Type-Options = %q, want %q", path, v, tt.want)
				}
			}
		})
	}
}

func TestUpstreamDown(t *testing.T) {
	dead := newUpstream(t)
	dead.Close()
	e := start(t, dead, nil)
	resp, body := e.get(e.https + "/x")
	if resp.StatusCode != http.StatusBadGateway || body != "Bad Gateway" {
		t.Errorf("status %d body %q, want 502 and exactly %q", resp.StatusCode, body, "Bad Gateway")
	}
	if strings.Contains(body, "127.0.0.1") || strings.Contains(body, "refused") {
		t.Errorf("502 body leaks detail: %q", body)
	}
	if !contains(e.logs.String(), `"event":"upstream_error"`) {
		t.Errorf("no upstream_error event")
	}
	waitFor(t, "healthz 503", func() bool {
		r, err := http.Get(e.admin + "/healthz")
		if err != nil {
			return false
		}
		r.Body.Close()
		return r.StatusCode == http.StatusServiceUnavailable
	})
}

func TestAdminMetricsAndHealth(t *testing.T) {
	e := start(t, nil, nil)
	e.get(e.https+"/", "Host", "evil.com")
	e.get(e.https + "/")
	waitFor(t, "healthz 200", func() bool {
		r, err := http.Get(e.admin + "/healthz")
		if err != nil {
			return false
		}
		r.Body.Close()
		return r.StatusCode == 200
	})
	if got, _ := e.up.healthHost.Load().(string); got != siteHost+" https" {
		t.Errorf("health check Host and proto = %q, want %q", got, siteHost+" https")
	}
	r, err := http.Get(e.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	for _, want := range []string{
		`bulwark_requests_total{code="200"} 1`,
		`bulwark_requests_total{code="400"} 1`,
		`bulwark_refusals_total{event="disallowed_host",reason=`,
		`bulwark_upstream_duration_seconds_count 1`,
		`bulwark_upstream_up 1`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestAccessLogHasNoSecrets(t *testing.T) {
	e := start(t, nil, nil)
	e.get(e.https+"/echo?token=s3cr3t", "Cookie", "sessionid=c00k1e", "Authorization", "Bearer b34r3r")
	logs := e.logs.String()
	if !contains(logs, `"event":"access"`) || !contains(logs, `"path":"/echo"`) || !contains(logs, `"status":200`) {
		t.Errorf("access log line missing:\n%s", logs)
	}
	for _, secret := range []string{"s3cr3t", "c00k1e", "b34r3r"} {
		if contains(logs, secret) {
			t.Errorf("logs contain %q", secret)
		}
	}
}

func TestReloadUnderLoad(t *testing.T) {
	e := start(t, nil, nil)
	var failures, ok atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	stop := make(chan struct{})
	clients := []*http.Client{e.client, e.newClient(true)} // HTTP/1.1 and HTTP/2
	for i := 0; i < 8; i++ {
		wg.Add(1)
		client := clients[i%2]
		go func() {
			defer wg.Done()
			for j := 0; j < 2000; j++ { // bounded
				select {
				case <-stop:
					return
				default:
				}
				resp, err := client.Get(e.https + "/echo")
				if err != nil {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, resp.Status)
					continue
				}
				ok.Add(1)
			}
		}()
	}
	for i := 0; i < 10; i++ {
		time.Sleep(30 * time.Millisecond)
		cfg := e.cfg
		cfg.Headers.FrameOptions = []string{"DENY", "SAMEORIGIN"}[i%2]
		if err := e.g.Reload(cfg); err != nil {
			t.Fatalf("Reload %d: %v", i, err)
		}
		bad := e.cfg
		bad.Upstream.URL = "ftp://nope"
		if err := e.g.Reload(bad); !errors.Is(err, gateway.ErrConfig) {
			t.Fatalf("invalid Reload: %v, want ErrConfig", err)
		}
	}
	close(stop)
	wg.Wait()
	if failures.Load() != 0 {
		t.Errorf("%d failed requests during reloads (first: %v)", failures.Load(), firstErr.Load())
	}
	if ok.Load() == 0 {
		t.Errorf("no request completed")
	}
	if !contains(e.logs.String(), `"event":"config_reload_failed"`) {
		t.Errorf("no config_reload_failed event")
	}
	// The last good configuration is in force.
	resp, _ := e.get(e.https + "/echo")
	if g := resp.Header.Get("X-Frame-Options"); g != "SAMEORIGIN" {
		t.Errorf("after reloads X-Frame-Options = %q, want the last good config's SAMEORIGIN", g)
	}
}

func TestReloadRefusesRestartOnlyChanges(t *testing.T) {
	e := start(t, nil, nil)
	cfg := e.cfg
	cfg.Timeouts.Read = time.Minute * 3
	if err := e.g.Reload(cfg); !errors.Is(err, gateway.ErrRestartRequired) {
		t.Errorf("Reload with new timeouts: %v, want ErrRestartRequired", err)
	}
	cfg = e.cfg
	cfg.TLS.SessionTicketRotation = time.Hour
	if err := e.g.Reload(cfg); !errors.Is(err, gateway.ErrRestartRequired) {
		t.Errorf("Reload with a new session ticket rotation: %v, want ErrRestartRequired", err)
	}
	cfg = e.cfg
	cfg.Cluster.Store = "redis://127.0.0.1:6379/0"
	if err := e.g.Reload(cfg); !errors.Is(err, gateway.ErrRestartRequired) {
		t.Errorf("Reload with a new [cluster] store: %v, want ErrRestartRequired", err)
	}
}

// TestSessionResumption: the HTTPS listener resumes TLS sessions under
// the keys it rotates itself, and a reload (SIGHUP) keeps them, for both
// TLS versions.
func TestSessionResumption(t *testing.T) {
	e := start(t, nil, nil)
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		tr := &http.Transport{
			DialContext: dialLoopback,
			TLSClientConfig: &tls.Config{
				RootCAs: e.pool, MinVersion: v, MaxVersion: v,
				ClientSessionCache: tls.NewLRUClientSessionCache(4),
			},
			DisableKeepAlives: true, // one connection, one handshake, per request
		}
		client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
		resumed := func() bool {
			t.Helper()
			resp, err := client.Get(e.https + "/echo")
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.TLS == nil || resp.TLS.Version != v {
				t.Fatalf("TLS state %+v, want version %x", resp.TLS, v)
			}
			return resp.TLS.DidResume
		}
		if resumed() {
			t.Errorf("version %x: first connection resumed", v)
		}
		if !resumed() {
			t.Errorf("version %x: second connection did not resume", v)
		}
		if err := e.g.Reload(e.cfg); err != nil {
			t.Fatal(err)
		}
		if !resumed() {
			t.Errorf("version %x: no resumption after a reload", v)
		}
	}
}

func TestCertificateReload(t *testing.T) {
	e := start(t, nil, nil)
	first := peerCert(t, e)
	// Rotate the files in place, as certbot or an operator would.
	writeCertTo(t, e.cfg.TLS.CertFile, e.cfg.TLS.KeyFile)
	if err := e.g.Reload(e.cfg); err != nil {
		t.Fatal(err)
	}
	if second := peerCert(t, e); second == first {
		t.Errorf("certificate not reloaded")
	}
	// A broken file keeps the current certificate.
	os.WriteFile(e.cfg.TLS.CertFile, []byte("garbage"), 0o600)
	if err := e.g.Reload(e.cfg); err == nil {
		t.Errorf("Reload with a broken certificate file succeeded")
	}
}

func peerCert(t *testing.T, e *env) string {
	c, err := tls.Dial("tcp", "127.0.0.1:"+e.httpsPrt, &tls.Config{InsecureSkipVerify: true, ServerName: siteHost})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return string(c.ConnectionState().PeerCertificates[0].Raw)
}

func writeCertTo(t *testing.T, certFile, keyFile string) {
	dir := t.TempDir()
	c, k, _ := writeCert(t, dir)
	for _, p := range [][2]string{{c, certFile}, {k, keyFile}} {
		b, err := os.ReadFile(p[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p[1], b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func TestGracefulShutdown(t *testing.T) {
	e := start(t, nil, nil)
	type result struct {
		code int
		body string
		err  error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := e.client.Get(e.https + "/slow?ms=600")
		if err != nil {
			res <- result{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		res <- result{code: resp.StatusCode, body: string(b)}
	}()
	waitFor(t, "the slow request to reach the upstream", func() bool { return e.up.hits.Load() == 1 })
	e.cancel()
	// New connections are refused once shutdown began.
	waitFor(t, "the listener to close", func() bool {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+e.httpsPrt, 200*time.Millisecond)
		if err != nil {
			return true
		}
		c.Close()
		return false
	})
	r := <-res
	if r.err != nil || r.code != 200 || r.body != "slow done" {
		t.Errorf("in-flight request: %+v, want 200 slow done", r)
	}
	select {
	case err := <-e.done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
		e.done <- nil
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
}

// TestSlowloris: a client trickling its headers or its body is cut off by
// the read timeouts instead of holding a connection for ever.
func TestSlowloris(t *testing.T) {
	e := start(t, nil, func(c *gateway.Config) {
		c.Timeouts.ReadHeader = 300 * time.Millisecond
		c.Timeouts.Read = 600 * time.Millisecond
	})
	for _, tc := range []struct {
		name    string
		head    string
		trickle string
	}{
		{"header", "GET /echo HTTP/1.1\r\nHost: site.test\r\n", "X-A: b\r\n"},
		{"body", "POST /echo HTTP/1.1\r\nHost: site.test\r\nContent-Length: 1000\r\nContent-Type: text/plain\r\n\r\n", "a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tls.Dial("tcp", "127.0.0.1:"+e.httpsPrt, &tls.Config{RootCAs: e.pool, ServerName: siteHost, NextProtos: []string{"http/1.1"}})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := io.WriteString(c, tc.head); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			closed := make(chan struct{})
			go func() {
				defer close(closed)
				io.Copy(io.Discard, bufio.NewReader(c)) // until the server closes
			}()
			for i := 0; i < 50; i++ { // at most 5 s of trickling
				select {
				case <-closed:
					if d := time.Since(start); d > 3*time.Second {
						t.Errorf("cut off after %v", d)
					}
					return
				case <-time.After(100 * time.Millisecond):
				}
				if _, err := io.WriteString(c, tc.trickle); err != nil {
					<-closed
					return // the server closed the connection
				}
			}
			t.Errorf("connection still open after 5 s of trickling")
		})
	}
}

func TestAccessLogFile(t *testing.T) {
	path := t.TempDir() + "/access.log"
	e := start(t, nil, func(c *gateway.Config) { c.AccessLog.Path = path })
	e.get(e.https + "/echo?secret=1")
	e.stop() // flushes and closes the file
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"event":"access"`) || !strings.Contains(string(b), `"path":"/echo"`) || strings.Contains(string(b), "secret") {
		t.Errorf("access log file: %q", b)
	}
}

func TestHTTPSUpstream(t *testing.T) {
	app := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "tls app")
	}))
	app.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake below is expected
	app.StartTLS()
	defer app.Close()
	caFile := t.TempDir() + "/ca.pem"
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: app.Certificate().Raw}), 0o600)
	up := &upstream{Server: app}

	e := start(t, up, func(c *gateway.Config) { c.Upstream.CAFile = caFile; c.Upstream.HealthPath = "" })
	if resp, body := e.get(e.https + "/"); resp.StatusCode != 200 || body != "tls app" {
		t.Errorf("verified https upstream: %d %q", resp.StatusCode, body)
	}
	// Without the CA, the upstream's certificate is not trusted: 502.
	e2 := start(t, up, func(c *gateway.Config) { c.Upstream.HealthPath = "" })
	if resp, body := e2.get(e2.https + "/"); resp.StatusCode != http.StatusBadGateway {
		t.Errorf("unverifiable https upstream: %d %q, want 502", resp.StatusCode, body)
	}
}

func TestCookiesOverAllowedPlainHTTP(t *testing.T) {
	e := start(t, nil, func(c *gateway.Config) { c.HTTPS.AllowInsecureHTTP = true })
	resp, _ := e.get(e.http + "/cookies?c=sessionid%3Dabc")
	if got := resp.Header.Get("Set-Cookie"); got != "sessionid=abc; HttpOnly; SameSite=Lax" {
		t.Errorf("plain-HTTP Set-Cookie = %q, want HttpOnly and SameSite but not Secure", got)
	}
	resp, _ = e.get(e.https + "/cookies?c=sessionid%3Dabc")
	if got := resp.Header.Get("Set-Cookie"); got != "sessionid=abc; Secure; HttpOnly; SameSite=Lax" {
		t.Errorf("HTTPS Set-Cookie = %q", got)
	}
}

// The runtime profiles are served on the admin listener only when
// admin_profiling is set, and never on the public listeners.
func TestAdminProfiling(t *testing.T) {
	status := func(url string) int {
		t.Helper()
		r, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		return r.StatusCode
	}
	off := start(t, nil, nil)
	if got := status(off.admin + "/debug/pprof/"); got != http.StatusNotFound {
		t.Errorf("profiling off: /debug/pprof/ answered %d, want 404", got)
	}
	on := start(t, nil, func(c *gateway.Config) { c.Listen.AdminProfiling = true })
	if got := status(on.admin + "/debug/pprof/"); got != http.StatusOK {
		t.Errorf("profiling on: /debug/pprof/ answered %d, want 200", got)
	}
	if got := status(on.admin + "/debug/pprof/allocs?debug=1"); got != http.StatusOK {
		t.Errorf("profiling on: allocs profile answered %d, want 200", got)
	}
	resp, body := on.get(on.https + "/debug/pprof/")
	if resp.StatusCode != http.StatusOK || decodeEcho(t, body).Path != "/debug/pprof/" {
		t.Errorf("the public listener must forward /debug/pprof/ to the app: status %d, body %q", resp.StatusCode, body)
	}
}
