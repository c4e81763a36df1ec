package gateway_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/gateway"
)

func TestACMEHostPolicy(t *testing.T) {
	policy := gateway.HostPolicy([]string{"example.com", "www.Example.com"})
	for _, tc := range []struct {
		host string
		ok   bool
	}{
		{"example.com", true},
		{"EXAMPLE.com", true},
		{"www.example.com", true},
		{"example.com.", true},
		{"evil.com", false},
		{"a.example.com", false}, // no wildcard: a client can't pick names
		{"example.com.evil.com", false},
		{"", false},
		{"*.example.com", false},
	} {
		err := policy(context.Background(), tc.host)
		if (err == nil) != tc.ok {
			t.Errorf("HostPolicy(%q) = %v, want ok=%v", tc.host, err, tc.ok)
		}
		if err != nil && !errors.Is(err, gateway.ErrHostNotAllowed) {
			t.Errorf("HostPolicy(%q) error %v does not wrap ErrHostNotAllowed", tc.host, err)
		}
	}
}

func TestACMEConfigValidation(t *testing.T) {
	base := func() gateway.Config {
		var c gateway.Config
		c.Upstream.URL = "http://127.0.0.1:8000"
		c.TLS.ACME = gateway.ACMEConfig{Enabled: true, Hosts: []string{"example.com"}, CacheDir: t.TempDir()}
		return c
	}
	if err := base().Validate(); err != nil {
		t.Fatalf("valid ACME config: %v", err)
	}
	// Without tls.acme.hosts, the exact names of hosts.allowed are used.
	c := base()
	c.TLS.ACME.Hosts = nil
	c.Hosts.Allowed = []string{"example.com", ".example.org"}
	if err := c.Validate(); err != nil {
		t.Errorf("ACME hosts from hosts.allowed: %v", err)
	}
	if got := c.WithDefaults().TLS.ACME.Hosts; len(got) != 1 || got[0] != "example.com" {
		t.Errorf("effective acme.hosts = %q, want [example.com]", got)
	}
	c.Hosts.Allowed = []string{".example.org"}
	if err := c.Validate(); !errors.Is(err, gateway.ErrConfig) {
		t.Errorf("ACME with only patterns allowed: %v, want ErrConfig", err)
	}
	for name, mut := range map[string]func(*gateway.Config){
		"wildcard host":     func(c *gateway.Config) { c.TLS.ACME.Hosts = []string{"*.example.com"} },
		"pattern host":      func(c *gateway.Config) { c.TLS.ACME.Hosts = []string{".example.com"} },
		"no hosts":          func(c *gateway.Config) { c.TLS.ACME.Hosts = nil },
		"no cache":          func(c *gateway.Config) { c.TLS.ACME.CacheDir = "" },
		"cache and cluster": func(c *gateway.Config) { c.Cluster.Store = "redis://127.0.0.1:6379" },
		"bad challenge":     func(c *gateway.Config) { c.TLS.ACME.Challenges = []string{"dns-01"} },
		"http-01 without http": func(c *gateway.Config) {
			c.TLS.ACME.Challenges = []string{"http-01"}
			c.Listen.HTTP = gateway.Off
		},
		"files and acme": func(c *gateway.Config) { c.TLS.CertFile, c.TLS.KeyFile = "a", "b" },
		"http directory": func(c *gateway.Config) { c.TLS.ACME.DirectoryURL = "http://ca.test/dir" },
	} {
		c := base()
		mut(&c)
		if err := c.Validate(); !errors.Is(err, gateway.ErrConfig) {
			t.Errorf("%s: Validate = %v, want ErrConfig", name, err)
		}
	}
}

// TestACMEGatewayRefusesUnknownNames runs a gateway in ACME mode against a
// CA address nothing listens on: a handshake for a name outside the list
// fails by policy, before any CA is contacted, and the HTTP listener
// redirects what is not a challenge in progress.
func TestACMEGatewayRefusesUnknownNames(t *testing.T) {
	up := newUpstream(t)
	var c gateway.Config
	c.Listen = gateway.ListenConfig{HTTPS: "127.0.0.1:0", HTTP: "127.0.0.1:0", Admin: gateway.Off}
	c.Upstream.URL = up.URL
	c.Hosts.Allowed = []string{siteHost}
	c.TLS.ACME = gateway.ACMEConfig{Enabled: true, Hosts: []string{siteHost}, CacheDir: acmeCacheDir(t), DirectoryURL: "https://127.0.0.1:1/directory"}
	var logs syncBuffer
	g, err := gateway.New(c, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	ln, err := g.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Serve(ctx, ln) }()
	defer func() {
		cancel()
		<-done
	}()
	a := g.Addrs()
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", a.HTTPS.String(),
		&tls.Config{ServerName: "evil.test", InsecureSkipVerify: true})
	if err == nil {
		conn.Close()
		t.Errorf("handshake for a name outside tls.acme.hosts succeeded")
	}
	httpBase := "http://" + a.HTTP.String()
	client := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("GET", httpBase+"/.well-known/acme-challenge/unknown-token", nil)
	req.Host = siteHost
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	// A token no gateway of the fleet is solving is not answered by the
	// ACME responder: the request goes through the chain like any other
	// (a redirect to HTTPS), never to the upstream in plain HTTP.
	if resp.StatusCode != http.StatusMovedPermanently {
		t.Errorf("unknown challenge token: %d, want 301 from the chain", resp.StatusCode)
	}
	req, _ = http.NewRequest("GET", httpBase+"/page", nil)
	req.Host = siteHost
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMovedPermanently {
		t.Errorf("plain page on the HTTP listener: %d, want 301", resp.StatusCode)
	}
}

// acmeCacheDir is a cache directory for a gateway whose ACME work is
// cancelled, not awaited, when it closes: certmagic's background attempt
// (against an unreachable directory here) may still take or release a
// lock file for a moment, so removal is retried instead of failing the
// test the way t.TempDir's cleanup would.
func acmeCacheDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "bulwark-acme-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for i := 0; ; i++ {
			err := os.RemoveAll(dir)
			if err == nil {
				return
			}
			if i == 50 {
				t.Errorf("removing the ACME cache: %v", err)
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	return dir
}
