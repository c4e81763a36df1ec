package audit_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/audit"
)

// goodHeaders are the headers of a careful site.
func goodHeaders(h http.Header) {
	h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains; preload")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Content-Security-Policy", "default-src 'self'")
}

// careful is a careful site's behaviour, which each weakness target
// changes in one place: the redirect, the headers, the Host check.
type careful struct {
	port    int                                               // the HTTPS port
	plain   func(w http.ResponseWriter, r *http.Request) bool // handles plain HTTP first when set; true: done
	headers func(h http.Header, r *http.Request)              // edits the headers after goodHeaders
	page    func(w http.ResponseWriter, r *http.Request)      // writes the HTTPS body; nil: a small HTML page
	anyHost bool                                              // answer every Host
}

func (c careful) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.TLS == nil {
		if c.plain != nil && c.plain(w, r) {
			return
		}
		http.Redirect(w, r, "https://127.0.0.1:"+strconv.Itoa(c.port)+r.URL.RequestURI(), http.StatusMovedPermanently)
		return
	}
	if !c.anyHost && r.Host != "127.0.0.1:"+strconv.Itoa(c.port) {
		http.Error(w, "Bad Request", http.StatusBadRequest)
		return
	}
	goodHeaders(w.Header())
	if c.headers != nil {
		c.headers(w.Header(), r)
	}
	if c.page != nil {
		c.page(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	io.WriteString(w, "<!doctype html><title>ok</title><p>ok</p>")
}

func carefulSite(t *testing.T, edit func(*tls.Config), c careful) *site {
	return startSiteTLS(t, 0, edit, func(port int) http.Handler {
		c.port = port
		return c
	})
}

// weakRSACert is a self-signed certificate for 127.0.0.1 with an RSA key
// of bits, signed with sig (0: the default).
func weakRSACert(t *testing.T, bits int, sig x509.SignatureAlgorithm) tls.Certificate {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"example.com"},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true,
		SignatureAlgorithm: sig,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestScanWeaknesses runs one loopback server per weakness and checks that
// the scan reports it with its ID and severity, and that the careful site
// they all derive from reports none of them. Every report is also written
// as SARIF and validated against the SARIF 2.1.0 schema.
func TestScanWeaknesses(t *testing.T) {
	media := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// An uploaded page served inline, without nosniff or a sandbox.
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<script>alert(document.domain)</script>")
	}))
	t.Cleanup(media.Close)
	safeMedia := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// As package media serves them: nosniff, a sandbox, a download.
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Security-Policy", "sandbox; default-src 'none'")
		if strings.HasSuffix(r.URL.Path, ".svg") {
			w.Header().Set("Content-Type", "image/svg+xml")
			io.WriteString(w, `<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Disposition", `attachment; filename="page.html"`)
		io.WriteString(w, "<script>alert(document.domain)</script>")
	}))
	t.Cleanup(safeMedia.Close)
	svgMedia := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Type", "image/svg+xml")
		io.WriteString(w, `<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)
	}))
	t.Cleanup(svgMedia.Close)
	tests := []struct {
		name string
		tls  func(*tls.Config)
		site careful
		opts audit.ScanOptions
		want []wantFinding
	}{
		{name: "careful site"},
		{name: "HSTS on plain HTTP only", site: careful{
			headers: func(h http.Header, _ *http.Request) { h.Del("Strict-Transport-Security") },
			plain: func(w http.ResponseWriter, r *http.Request) bool {
				w.Header().Set("Strict-Transport-Security", "max-age=63072000")
				return false
			}}, want: []wantFinding{{"BW205", audit.Error}}},
		{name: "unsafe-inline CSP", site: careful{headers: func(h http.Header, _ *http.Request) {
			h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self' 'unsafe-inline'")
		}}, want: []wantFinding{{"BW214", audit.Warning}}},
		{name: "insecure cookie", site: careful{headers: func(h http.Header, _ *http.Request) {
			h.Add("Set-Cookie", "sessionid=x; Path=/; HttpOnly; SameSite=Lax")
		}}, want: []wantFinding{{"BW215", audit.Warning}}},
		{name: "cookie on the plain-HTTP redirect", site: careful{plain: func(w http.ResponseWriter, r *http.Request) bool {
			w.Header().Add("Set-Cookie", "__Host-sessionid=x; Path=/; Secure; HttpOnly; SameSite=Lax")
			return false
		}}, want: []wantFinding{{"BW234", audit.Warning}}},
		{name: "http to http first hop", site: careful{plain: func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path == "/" {
				http.Redirect(w, r, "/home", http.StatusMovedPermanently)
				return true
			}
			return false
		}}, want: []wantFinding{{"BW202", audit.Warning}}},
		{name: "Host reflection", site: careful{anyHost: true, page: func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, `<a href="https://%s/">home</a>`, r.Host)
		}}, want: []wantFinding{{"BW219", audit.Error}, {"BW220", audit.Error}}},
		{name: "empty answer to a foreign Host", site: careful{anyHost: true, page: func(w http.ResponseWriter, r *http.Request) {
			if !strings.HasPrefix(r.Host, "127.0.0.1") {
				return // 200, nothing
			}
			io.WriteString(w, "<p>ok</p>")
		}}, want: []wantFinding{{"BW235", audit.Info}}},
		{name: "legacy TLS with RSA key exchange", tls: func(c *tls.Config) {
			c.MinVersion, c.MaxVersion = tls.VersionTLS10, tls.VersionTLS12
			c.CipherSuites = []uint16{tls.TLS_RSA_WITH_AES_128_CBC_SHA}
		}, want: []wantFinding{{"BW223", audit.Error}, {"BW229", audit.Warning}, {"BW230", audit.Warning}, {"BW231", audit.Info}, {"BW232", audit.Info}}},
		{name: "3DES", tls: func(c *tls.Config) {
			c.CipherSuites = append(c.CipherSuites, tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA)
		}, want: []wantFinding{{"BW228", audit.Error}, {"BW231", audit.Info}}},
		{name: "no post-quantum key exchange", tls: func(c *tls.Config) {
			c.CurvePreferences = []tls.CurveID{tls.X25519, tls.CurveP256}
		}, want: []wantFinding{{"BW232", audit.Info}}},
		{name: "weak certificate key", tls: func(c *tls.Config) {
			c.Certificates = []tls.Certificate{weakRSACert(t, 1024, 0)}
		}, want: []wantFinding{{"BW233", audit.Error}}},
		{name: "SHA-1 certificate signature", tls: func(c *tls.Config) {
			c.Certificates = []tls.Certificate{weakRSACert(t, 2048, x509.SHA1WithRSA)}
		}, want: []wantFinding{{"BW250", audit.Error}}},
		{name: "weak headers", site: careful{headers: func(h http.Header, _ *http.Request) {
			h.Del("X-Content-Type-Options")
			h.Del("X-Frame-Options")
			h.Set("Referrer-Policy", "unsafe-url")
		}}, want: []wantFinding{{"BW209", audit.Warning}, {"BW210", audit.Warning}, {"BW211", audit.Warning}}},
		{name: "no CSP on an HTML page", site: careful{headers: func(h http.Header, _ *http.Request) {
			h.Del("Content-Security-Policy")
			h.Del("X-Frame-Options")
			h.Set("X-Frame-Options", "DENY")
		}}, want: []wantFinding{{"BW213", audit.Warning}}},
		{name: "no CSP on a JSON API", site: careful{
			headers: func(h http.Header, _ *http.Request) { h.Del("Content-Security-Policy") },
			page: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, `{"ok":true}`)
			}}, want: []wantFinding{{"BW213", audit.Info}}},
		{name: "CORS reflecting any origin with credentials", site: careful{headers: func(h http.Header, r *http.Request) {
			if o := r.Header.Get("Origin"); o != "" {
				h.Set("Access-Control-Allow-Origin", o)
				h.Set("Access-Control-Allow-Credentials", "true")
			}
		}}, want: []wantFinding{{"BW236", audit.Error}, {"BW237", audit.Error}}},
		{name: "CORS reflecting any origin without credentials", site: careful{headers: func(h http.Header, r *http.Request) {
			if o := r.Header.Get("Origin"); o != "" && o != "null" {
				h.Set("Access-Control-Allow-Origin", o)
			}
		}}, want: []wantFinding{{"BW238", audit.Info}}},
		{name: "X-Forwarded-Proto trusted", site: careful{plain: func(w http.ResponseWriter, r *http.Request) bool {
			if r.Header.Get("X-Forwarded-Proto") == "https" {
				io.WriteString(w, "served")
				return true
			}
			return false
		}}, want: []wantFinding{{"BW239", audit.Error}}},
		{name: "X-Forwarded-For trusted", site: careful{page: func(w http.ResponseWriter, r *http.Request) {
			ip := r.Header.Get("X-Forwarded-For")
			if ip == "" {
				ip, _, _ = net.SplitHostPort(r.RemoteAddr)
			}
			fmt.Fprintf(w, "<p>your address: %s</p>", ip)
		}}, want: []wantFinding{{"BW240", audit.Warning}}},
		{name: "headers differ by path", site: careful{
			headers: func(h http.Header, r *http.Request) {
				if r.URL.Path == "/about" {
					h.Del("X-Content-Type-Options") // an nginx location with its own add_header
				}
			},
			page: func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, `<a href="/about">about</a> <a href="https://evil.example/x">elsewhere</a>`)
			}}, want: []wantFinding{{"BW244", audit.Warning}}},
		{name: "CSP nonce reused", site: careful{headers: func(h http.Header, _ *http.Request) {
			h.Set("Content-Security-Policy", "default-src 'self'; script-src 'nonce-c2FtZQ'")
		}}, want: []wantFinding{{"BW245", audit.Error}}},
		{name: "script over plain HTTP", site: careful{page: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, `<script src="http://cdn.example/lib.js"></script><script src=/own.js></script>`)
		}}, want: []wantFinding{{"BW248", audit.Error}}},
		{name: "third-party script without integrity", site: careful{page: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, `<script src="https://cdn.example/lib.js"></script>`+
				`<script src="https://cdn.example/ok.js" integrity="sha384-abc" crossorigin="anonymous"></script>`)
		}}, want: []wantFinding{{"BW249", audit.Info}}},
		{name: "media file served as a page", opts: audit.ScanOptions{MediaURLs: []string{media.URL + "/u/page.html"}},
			want: []wantFinding{{"BW246", audit.Error}, {"BW247", audit.Warning}}},
		{name: "media SVG served inline", opts: audit.ScanOptions{MediaURLs: []string{svgMedia.URL + "/u/image.svg"}},
			want: []wantFinding{{"BW246", audit.Error}}},
		{name: "media files served safely", opts: audit.ScanOptions{MediaURLs: []string{safeMedia.URL + "/u/page.html", safeMedia.URL + "/u/image.svg"}}},
	}
	var base map[string]bool
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := carefulSite(t, tc.tls, tc.site)
			rep := scan(t, s, tc.opts)
			got := map[string]audit.Severity{}
			for _, f := range rep.Findings {
				got[f.ID] = max(got[f.ID], f.Severity)
			}
			for _, w := range tc.want {
				if sev, ok := got[w.id]; !ok || sev != w.sev {
					t.Errorf("want %s %v, got %v", w.id, w.sev, rep.Findings)
				}
			}
			if tc.name == "http to http first hop" && !slices.ContainsFunc(rep.Findings, func(f audit.Finding) bool {
				return f.ID == "BW208" && strings.Contains(f.Message, "plain HTTP does not redirect to HTTPS on the same host first")
			}) {
				t.Errorf("preload eligibility ignores the http→http first hop: %v", rep.Findings)
			}
			for _, f := range rep.Findings {
				if f.ID == "BW249" && (!strings.Contains(f.Message, "lib.js") || strings.Contains(f.Message, "ok.js")) {
					t.Errorf("BW249 names the wrong scripts: %v", f)
				}
			}
			if tc.name == "careful site" {
				base = map[string]bool{}
				for _, f := range rep.Findings {
					base[f.ID] = true
					if f.Severity > audit.Info && f.ID != "BW243" {
						t.Errorf("careful site: %v", f)
					}
				}
			} else {
				// Precision: nothing beyond what the careful site has,
				// the weakness and what it implies.
				for _, f := range rep.Findings {
					if !base[f.ID] && !wanted(f.ID, tc.want) && !implied[f.ID] {
						t.Errorf("unexpected %v", f)
					}
				}
			}
			var b bytes.Buffer
			if err := rep.WriteSARIF(&b); err != nil {
				t.Fatal(err)
			}
			validateSARIF(t, b.Bytes())
		})
	}
}

// implied are findings that come with some weaknesses as their
// consequence (a foreign host answered is also a CSP-less page...).
var implied = map[string]bool{
	"BW208": true,                               // preload eligibility follows HSTS and the redirect
	"BW216": true, "BW217": true, "BW218": true, // cookie attributes of the cookie targets
	"BW219": true, "BW220": true, // the forwarded-header targets answer any host
	"BW213": true, // pages without a CSP
	"BW225": true,
}

// wantFinding is a finding a target must produce.
type wantFinding struct {
	id  string
	sev audit.Severity
}

func wanted(id string, ws []wantFinding) bool {
	for _, w := range ws {
		if w.id == id {
			return true
		}
	}
	return false
}
