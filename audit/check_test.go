package audit_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark"
	"github.com/bulwarkdev/bulwark/audit"
	"github.com/bulwarkdev/bulwark/csrf"
	"github.com/bulwarkdev/bulwark/headers"
	"github.com/bulwarkdev/bulwark/limits"
	"github.com/bulwarkdev/bulwark/media"
	"github.com/bulwarkdev/bulwark/ratelimit"
	"github.com/bulwarkdev/bulwark/session"
	"github.com/bulwarkdev/bulwark/signing"
	"github.com/bulwarkdev/bulwark/upload"
)

// hardened is a deployment that passes every rule at Warning and above.
func hardened() audit.Deployment {
	var d audit.Deployment
	d.Config.Hosts.Allowed = []string{"example.com"}
	d.Config.HTTPS.HSTSIncludeSubdomains = true
	d.Config.HTTPS.HSTSPreload = true
	d.Config.HTTPS.RefuseUnsafeMethods = true
	d.Config.Headers.CSP = headers.Policy{{Name: "default-src", Values: []string{headers.Self}}}
	d.CSRF = &csrf.Config{}
	d.Session = &session.Config{}
	d.Signing = &signing.Config{Key: []byte("k3y-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ")}
	d.Limits = &limits.Config{}
	d.Upload = &upload.Config{Reencode: true}
	d.Media = &media.Config{Hosts: []string{"example-media.net"}, Dir: "/srv/media"}
	d.Config.RateLimit = []ratelimit.Rule{{Name: "login", Paths: []string{"/admin/login/", "/accounts/login/"},
		Methods: []string{"POST"}, Rate: "5/h", CountStatuses: []int{200}}}
	return d
}

func ids(fs []audit.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.ID)
	}
	return out
}

func TestCheckDeployment(t *testing.T) {
	if got := audit.CheckDeployment(hardened()); len(got) != 0 {
		t.Fatalf("hardened deployment: %v", got)
	}
	for _, tc := range []struct {
		name   string
		mutate func(*audit.Deployment)
		want   []string // IDs that must be present
	}{
		{"hsts off", func(d *audit.Deployment) { d.Config.HTTPS.InsecureDisableHSTS = true }, []string{"BW003"}},
		{"hsts short", func(d *audit.Deployment) { d.Config.HTTPS.HSTSMaxAge = time.Hour }, []string{"BW004"}},
		{"redirect off", func(d *audit.Deployment) { d.Config.HTTPS.AllowInsecureHTTP = true }, []string{"BW007"}},
		{"security layer off", func(d *audit.Deployment) {
			d.Config.HTTPS.AllowInsecureHTTP, d.Config.HTTPS.InsecureDisableHSTS = true, true
			d.Config.Headers.InsecureAllowSniffing, d.Config.Headers.InsecureOmitReferrerPolicy = true, true
		}, []string{"BW002"}},
		{"framing allowed", func(d *audit.Deployment) { d.Config.Headers.InsecureAllowFraming = true }, []string{"BW010"}},
		{"sameorigin", func(d *audit.Deployment) { d.Config.Headers.FrameOptions = "sameorigin" }, []string{"BW011"}},
		{"referrer invalid", func(d *audit.Deployment) { d.Config.Headers.ReferrerPolicy = []string{"origin, nope"} }, []string{"BW013"}},
		{"referrer unsafe-url", func(d *audit.Deployment) { d.Config.Headers.ReferrerPolicy = []string{"unsafe-url"} }, []string{"BW014"}},
		{"coop invalid", func(d *audit.Deployment) { d.Config.Headers.CrossOriginOpenerPolicy = "same-site" }, []string{"BW015"}},
		{"csp unsafe-inline", func(d *audit.Deployment) {
			d.Config.Headers.CSP = headers.Policy{{Name: "script-src", Values: []string{headers.Self, headers.UnsafeInline}}}
		}, []string{"BW018"}},
		{"csp wildcard", func(d *audit.Deployment) {
			d.Config.Headers.CSP = headers.Policy{{Name: "default-src", Values: []string{"https:"}}}
		}, []string{"BW019"}},
		{"any host", func(d *audit.Deployment) {
			d.Config.Hosts.Allowed, d.Config.Hosts.AllowInsecureAnyHost = []string{"*"}, true
		}, []string{"BW022"}},
		{"star without acknowledgement", func(d *audit.Deployment) { d.Config.Hosts.Allowed = []string{"*"} }, []string{"BW001"}},
		{"development", func(d *audit.Deployment) { d.Config.Hosts.Development = true }, []string{"BW023"}},
		{"csrf development", func(d *audit.Deployment) { d.Config.CSRF.Development = true }, []string{"BW060"}},
		{"insecure key", func(d *audit.Deployment) {
			d.Signing.Key = []byte("django-insecure-0123456789abcdefghijklmnopqrstuvwxyzABCDEF")
		}, []string{"BW024"}},
		{"weak fallback", func(d *audit.Deployment) { d.Signing.FallbackKeys = [][]byte{[]byte("aaaaaaaa")} }, []string{"BW025"}},
		{"no csrf", func(d *audit.Deployment) { d.NoCSRF = true }, []string{"BW026"}},
		{"csrf tokens off", func(d *audit.Deployment) { d.CSRF.InsecureSkipTokens = true }, []string{"BW027"}},
		{"csrf cookie over http", func(d *audit.Deployment) { d.Config.HTTPS.Exempt = []string{"^health$"} }, []string{"BW028", "BW008"}},
		{"csrf unprefixed", func(d *audit.Deployment) { d.CSRF.InsecureUnprefixedCookie = true }, []string{"BW029"}},
		{"csrf http origin", func(d *audit.Deployment) { d.CSRF.TrustedOrigins = []string{"http://example.net"} }, []string{"BW030"}},
		{"session not secure", func(d *audit.Deployment) { d.Session.Cookie.AllowInsecureCookie = true }, []string{"BW031"}},
		{"session script access", func(d *audit.Deployment) { d.Session.Cookie.AllowInsecureScriptAccess = true }, []string{"BW032"}},
		{"session samesite none", func(d *audit.Deployment) { d.Session.Cookie.SameSite = "none" }, []string{"BW033"}},
		{"trust the internet", func(d *audit.Deployment) { d.Config.Proxy.Trusted = []string{"0.0.0.0/0"} }, []string{"BW034"}},
		{"trust ::/0", func(d *audit.Deployment) { d.Config.Proxy.Trusted = []string{"::/0"} }, []string{"BW034"}},
		{"trust a /8 of public space", func(d *audit.Deployment) { d.Config.Proxy.Trusted = []string{"8.0.0.0/8"} }, []string{"BW034"}},
		{"ssl header without trust", func(d *audit.Deployment) {
			d.Config.Proxy.SSLHeader, d.Config.Proxy.SSLHeaderValue = "X-Forwarded-Proto", "https"
		}, []string{"BW035"}},
		{"limit disabled", func(d *audit.Deployment) { d.Limits.MaxBodyBytes = limits.Unlimited }, []string{"BW036"}},
		{"svg uploads", func(d *audit.Deployment) { d.Upload.Policy.Allow = []string{"image/png", "image/svg+xml"} }, []string{"BW039"}},
		{"images kept as uploaded", func(d *audit.Deployment) { d.Upload.Reencode = false }, []string{"BW040"}},
		{"media same site", func(d *audit.Deployment) { d.Media.Hosts = []string{"media.example.com"} }, []string{"BW037"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := hardened()
			tc.mutate(&d)
			got := ids(audit.CheckDeployment(d))
			for _, w := range tc.want {
				if !slices.Contains(got, w) {
					t.Errorf("got %v, want %s among them", got, w)
				}
			}
		})
	}
	// Happy rows: private and narrow networks are a proxy tier.
	for _, n := range []string{"10.0.0.0/8", "loopback", "192.0.2.7", "2001:db8::/48", "203.0.113.0/24"} {
		d := hardened()
		d.Config.Proxy.Trusted = []string{n}
		if got := ids(audit.CheckDeployment(d)); slices.Contains(got, "BW034") {
			t.Errorf("trusted %q: %v", n, got)
		}
	}
	// A nonce or hash makes 'unsafe-inline' inert (CSP Level 3).
	d := hardened()
	d.Config.Headers.CSP = headers.Policy{{Name: "script-src", Values: []string{headers.Self, headers.UnsafeInline, headers.NonceSentinel}}}
	if got := ids(audit.CheckDeployment(d)); slices.Contains(got, "BW018") || !slices.Contains(got, "BW020") {
		t.Errorf("nonce with unsafe-inline fallback: %v", got)
	}
}

func writeCert(t *testing.T, dir string, names []string, notAfter time.Time) (string, string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: names[0]},
		DNSNames: names, NotBefore: notAfter.Add(-90 * 24 * time.Hour), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cf, kf := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(cf, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(kf, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600)
	return cf, kf
}

func TestCheckServerCertificates(t *testing.T) {
	now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		names    []string
		notAfter time.Time
		want     []string
	}{
		{"valid", []string{"example.com"}, now.Add(60 * 24 * time.Hour), nil},
		{"expired", []string{"example.com"}, now.Add(-time.Hour), []string{"BW103"}},
		{"expiring", []string{"example.com"}, now.Add(10 * 24 * time.Hour), []string{"BW104"}},
		{"wrong host", []string{"other.example"}, now.Add(60 * 24 * time.Hour), []string{"BW105"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cf, kf := writeCert(t, t.TempDir(), tc.names, tc.notAfter)
			d := hardened()
			d.Server = &audit.Server{CertFile: cf, KeyFile: kf, UpstreamURL: "http://127.0.0.1:8000", Now: now}
			got := ids(audit.CheckDeployment(d))
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// Check reads every section of the root configuration.
func TestCheckRootSections(t *testing.T) {
	var cfg bulwark.Config
	cfg.Hosts.Allowed = []string{"example.com"}
	cfg.CSRF.InsecureSkipTokens = true
	cfg.Limits.MaxFiles = limits.Unlimited
	cfg.Uploads.Paths = []string{"/upload"}
	cfg.Uploads.Policy.Allow = []string{"image/svg+xml"}
	cfg.Media = media.Config{Hosts: []string{"media.example.com"}, Dir: t.TempDir()}
	got := ids(audit.Check(cfg))
	for _, want := range []string{"BW027", "BW036", "BW039", "BW037"} {
		if !slices.Contains(got, want) {
			t.Errorf("got %v, want %s among them", got, want)
		}
	}
	if slices.Contains(got, "BW026") {
		t.Errorf("bulwark.New always has a csrf layer: %v", got)
	}
}

// An attack configuration: a site that trusts forwarded headers from the
// whole Internet, as Django does once SECURE_PROXY_SSL_HEADER is set.
func ExampleCheck() {
	var cfg bulwark.Config
	cfg.Hosts.Allowed = []string{"example.com"}
	cfg.HTTPS.HSTSIncludeSubdomains = true
	cfg.HTTPS.HSTSPreload = true
	cfg.HTTPS.RefuseUnsafeMethods = true
	cfg.Headers.CSP = headers.Policy{{Name: "default-src", Values: []string{headers.Self}}}
	cfg.Proxy.Trusted = []string{"0.0.0.0/0"}
	cfg.Proxy.SSLHeader, cfg.Proxy.SSLHeaderValue = "X-Forwarded-Proto", "https"
	for _, f := range audit.Check(cfg) {
		fmt.Println(f.ID, f.Severity, f.Key)
	}
	// Output:
	// BW034 error proxy.trusted
}

func TestCheckCluster(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    audit.Server
		want []string
	}{
		{"none", audit.Server{}, nil},
		{"loopback, shared tickets", audit.Server{ClusterEnabled: true, ClusterStore: "redis://127.0.0.1:6379/0", ClusterTicketsShared: true, ClusterTimeout: time.Second}, nil},
		{"from the environment", audit.Server{ClusterEnabled: true, ClusterTicketsShared: true}, nil},
		{"password in file", audit.Server{ClusterEnabled: true, ClusterStore: "rediss://u:pw-9f3a@redis.internal:6380", ClusterTicketsShared: true}, []string{"BW130"}},
		{"clear redis", audit.Server{ClusterEnabled: true, ClusterStore: "redis://redis.internal:6379", ClusterTicketsShared: true}, []string{"BW131"}},
		{"clear postgres", audit.Server{ClusterEnabled: true, ClusterStore: "postgres://db.internal/fleet?sslmode=require", ClusterTicketsShared: true}, []string{"BW131"}},
		{"verified postgres", audit.Server{ClusterEnabled: true, ClusterStore: "postgres://db.internal/fleet?sslmode=verify-full", ClusterTicketsShared: true}, nil},
		{"tickets not shared", audit.Server{ClusterEnabled: true, ClusterStore: "redis://127.0.0.1:6379"}, []string{"BW132"}},
		{"long timeout", audit.Server{ClusterEnabled: true, ClusterTicketsShared: true, ClusterTimeout: 20 * time.Second}, []string{"BW133"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := hardened()
			s := tc.s
			s.UpstreamURL = "http://127.0.0.1:8000"
			d.Server = &s
			fs := audit.CheckDeployment(d)
			if got := ids(fs); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
			for _, f := range fs {
				if strings.Contains(f.Message, "pw-9f3a") {
					t.Errorf("%s quotes the password: %q", f.ID, f.Message)
				}
			}
		})
	}
}
