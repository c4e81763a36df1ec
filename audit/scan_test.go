package audit_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"html/template"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark"
	"github.com/bulwarkdev/bulwark/audit"
	"github.com/bulwarkdev/bulwark/csrf"
	"github.com/bulwarkdev/bulwark/headers"
	"github.com/bulwarkdev/bulwark/session"
	"github.com/bulwarkdev/bulwark/session/memstore"
)

// site is a pair of loopback servers, HTTPS and plain HTTP, sharing a
// handler.
type site struct {
	tls, plain *httptest.Server
	pool       *x509.CertPool
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// startSite starts both servers; build receives the HTTPS port.
func startSite(t *testing.T, minTLS uint16, build func(tlsPort int) http.Handler) *site {
	t.Helper()
	return startSiteTLS(t, minTLS, nil, build)
}

// startSiteTLS is startSite with edit applied to the HTTPS server's TLS
// configuration last (its certificate is then trusted by the site's pool).
func startSiteTLS(t *testing.T, minTLS uint16, edit func(*tls.Config), build func(tlsPort int) http.Handler) *site {
	t.Helper()
	tln, pln := listen(t), listen(t)
	h := build(tln.Addr().(*net.TCPAddr).Port)
	s := &site{tls: httptest.NewUnstartedServer(h), plain: httptest.NewUnstartedServer(h)}
	s.tls.Listener.Close()
	s.tls.Listener = tln
	s.tls.TLS = &tls.Config{MinVersion: minTLS}
	if minTLS == 0 {
		// As the gateway: TLS 1.2 with ECDHE and AEAD suites only, and 1.3.
		s.tls.TLS.MinVersion = tls.VersionTLS12
		s.tls.TLS.CipherSuites = []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		}
	}
	if edit != nil {
		edit(s.tls.TLS)
	}
	quiet := log.New(io.Discard, "", 0) // refused handshakes are expected
	s.tls.Config.ErrorLog, s.plain.Config.ErrorLog = quiet, quiet
	s.tls.StartTLS()
	s.plain.Listener.Close()
	s.plain.Listener = pln
	s.plain.Start()
	t.Cleanup(s.tls.Close)
	t.Cleanup(s.plain.Close)
	s.pool = x509.NewCertPool()
	s.pool.AddCert(s.tls.Certificate())
	return s
}

var discard = slog.New(slog.DiscardHandler)

var page = template.Must(template.New("").Parse(`<form method="post" action="/submit">{{.}}<button>Go</button></form>`))

// hardenedSite is an app behind Bulwark's whole chain: headers, trusted
// proxies, hosts, HTTPS, sessions and CSRF with tokens.
func hardenedSite(t *testing.T, allowed ...string) *site {
	return startSite(t, 0, func(port int) http.Handler {
		var cfg bulwark.Config
		cfg.Logger = discard
		cfg.Hosts.Allowed = append([]string{"127.0.0.1"}, allowed...)
		cfg.HTTPS.RedirectPort = port
		cfg.HTTPS.HSTSIncludeSubdomains = true
		cfg.HTTPS.HSTSPreload = true
		cfg.HTTPS.RefuseUnsafeMethods = true
		cfg.Headers.CSP = headers.Policy{
			{Name: "default-src", Values: []string{headers.Self}},
			{Name: "script-src", Values: []string{headers.Self, headers.NonceSentinel}},
		}
		b, err := bulwark.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		store, err := memstore.New(memstore.Config{})
		if err != nil {
			t.Fatal(err)
		}
		sm, err := session.New(session.Config{Store: store, Logger: discard})
		if err != nil {
			t.Fatal(err)
		}
		prot, err := csrf.New(csrf.Config{Logger: discard})
		if err != nil {
			t.Fatal(err)
		}
		app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				io.WriteString(w, "saved")
				return
			}
			if err := session.Put(r, "visited", "yes"); err != nil {
				http.Error(w, http.StatusText(http.StatusServiceUnavailable), http.StatusServiceUnavailable)
				return
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			page.Execute(w, csrf.TemplateField(r))
		})
		return b.Handler(sm.Handler(prot.Handler(app)))
	})
}

// bareSite is the same app with none of it: it reflects the Host (and
// X-Forwarded-Host, as Django with USE_X_FORWARDED_HOST), sets a plain
// session cookie, accepts any POST and TLS 1.0.
func bareSite(t *testing.T) *site {
	return startSite(t, tls.VersionTLS10, func(int) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			host := r.Host
			if x := r.Header.Get("X-Forwarded-Host"); x != "" {
				host = x
			}
			http.SetCookie(w, &http.Cookie{Name: "sessionid", Value: "abc123", Path: "/"})
			fmt.Fprintf(w, `<a href="https://%s/next">next</a>`, template.HTMLEscapeString(host))
		})
	})
}

func scan(t *testing.T, s *site, opts audit.ScanOptions) audit.Report {
	t.Helper()
	opts.RootCAs = s.pool
	if opts.HTTPURL == "" {
		opts.HTTPURL = s.plain.URL + "/"
	}
	rep, err := audit.Scan(context.Background(), s.tls.URL+"/", opts)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestScanHardened(t *testing.T) {
	s := hardenedSite(t)
	rep := scan(t, s, audit.ScanOptions{PostPaths: []string{"/submit"}})
	for _, f := range rep.Findings {
		if f.Severity >= audit.Warning && f.ID != "BW243" {
			t.Errorf("hardened site: %v", f)
		}
	}
	// Loopback is no registrable domain: not preload-eligible (BW208).
	// Go's net/http server answers ambiguous framing without closing the
	// connection (BW242 info, BW243 warning): no handler can see it.
	got := ids(rep.Findings)
	slices.Sort(got)
	if !slices.Equal(got, []string{"BW208", "BW242", "BW243"}) {
		t.Errorf("got %v, want [BW208 BW242 BW243]", got)
	}
	// The same-origin POST, with the page's token and cookies, passed;
	// the cross-site one was refused.
	status := map[string]int{}
	for _, p := range rep.Probes {
		status[p.Name] = p.Status
	}
	if status["csrf same-origin post"] != http.StatusOK || status["csrf cross-site post"] != http.StatusForbidden {
		t.Errorf("POST probes: %v", status)
	}
	if rep.TLSVersion != "TLS 1.3" {
		t.Errorf("TLS version %q", rep.TLSVersion)
	}
}

func TestScanBare(t *testing.T) {
	s := bareSite(t)
	rep := scan(t, s, audit.ScanOptions{PostPaths: []string{"/submit"}})
	got := ids(rep.Findings)
	want := []string{
		"BW201",                                     // plain HTTP served
		"BW205",                                     // no HSTS
		"BW209", "BW210", "BW211", "BW212", "BW213", // headers
		"BW215", "BW216", "BW217", "BW218", // the session cookie
		"BW219", "BW219", "BW219", "BW219", // foreign Host and absolute-form target answered, on both ports
		"BW220", "BW220", "BW220", "BW220", "BW220", "BW220", // ...and reflected, as is X-Forwarded-Host
		"BW221",          // cross-site POST accepted
		"BW223", "BW223", // TLS 1.0 and 1.1
		"BW230",          // ...with CBC suites in TLS 1.0 (Go's server defaults)
		"BW231",          // and CBC in TLS 1.2
		"BW234",          // the session cookie is set over plain HTTP too
		"BW242", "BW243", // net/http's framing
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("findings:\n got %v\nwant %v", got, want)
		for _, f := range rep.Findings {
			t.Log(f)
		}
	}
}

func TestScanCertificateForAnotherHost(t *testing.T) {
	s := bareSite(t)
	port := strconv.Itoa(s.tls.Listener.Addr().(*net.TCPAddr).Port)
	rep, err := audit.Scan(context.Background(), "https://wrong.test:"+port+"/", audit.ScanOptions{
		RootCAs: s.pool,
		HTTPURL: "http://wrong.test:" + strconv.Itoa(s.plain.Listener.Addr().(*net.TCPAddr).Port) + "/",
		Resolve: map[string]string{"wrong.test": "127.0.0.1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(rep.Findings); !slices.Contains(got, "BW224") {
		t.Errorf("got %v, want BW224", got)
	}
}

// A redirect to another host is reported, never followed.
func TestScanStaysOnHost(t *testing.T) {
	s := startSite(t, 0, func(int) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.TLS == nil {
				http.Redirect(w, r, "https://other.invalid/", http.StatusFound)
				return
			}
			io.WriteString(w, "ok")
		})
	})
	rep := scan(t, s, audit.ScanOptions{})
	got := ids(rep.Findings)
	if !slices.Contains(got, "BW202") || !slices.Contains(got, "BW203") {
		t.Errorf("got %v, want BW202 and BW203", got)
	}
	for _, p := range rep.Probes {
		if strings.Contains(p.URL, "other.invalid") {
			t.Errorf("contacted %s", p.URL)
		}
	}
}

func TestScanRefusesBadURL(t *testing.T) {
	for _, u := range []string{"ftp://example.com/", "https://", "https://user:pw@example.com/", "::"} {
		if _, err := audit.Scan(context.Background(), u, audit.ScanOptions{}); err == nil {
			t.Errorf("Scan(%q): no error", u)
		}
	}
}

func TestReportFormats(t *testing.T) {
	s := bareSite(t)
	rep := scan(t, s, audit.ScanOptions{})
	var text, js, html strings.Builder
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "BW205 error Strict-Transport-Security: ") {
		t.Errorf("text report:\n%s", text.String())
	}
	if !strings.Contains(js.String(), `"id": "BW205"`) || !strings.Contains(js.String(), `"severity": "error"`) {
		t.Errorf("JSON report:\n%s", js.String())
	}
	if !strings.Contains(html.String(), `<td class="id">BW205</td>`) {
		t.Errorf("HTML report lacks BW205")
	}
}

// Messages quote what the site sent; the HTML report must escape it.
func TestReportHTMLEscapes(t *testing.T) {
	rep := audit.Report{URL: "https://example.com/", Findings: []audit.Finding{{
		ID: "BW211", Severity: audit.Warning, Key: "Referrer-Policy",
		Message: `Referrer-Policy "<script>alert(1)</script>" has no valid policy`,
	}}}
	var b strings.Builder
	if err := rep.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "<script>alert") {
		t.Error("site-controlled text is not escaped")
	}
}

// An HTTPS page that redirects back to plain HTTP is a downgrade.
func TestScanDowngrade(t *testing.T) {
	s := startSite(t, 0, func(port int) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.TLS != nil {
				http.Redirect(w, r, "http://"+r.Host+"/plain", http.StatusMovedPermanently)
				return
			}
			http.Redirect(w, r, "https://127.0.0.1:"+strconv.Itoa(port)+"/", http.StatusMovedPermanently)
		})
	})
	rep := scan(t, s, audit.ScanOptions{})
	found := false
	for _, f := range rep.Findings {
		if f.ID == "BW202" && strings.Contains(f.Message, "back to plain HTTP") {
			found = true
		}
	}
	if !found {
		t.Errorf("downgrade not reported: %v", ids(rep.Findings))
	}
}

// A site that refuses its own forms (here every POST) is reported once the
// scan has the page's token: legitimate users are locked out.
func TestScanSameOriginRefused(t *testing.T) {
	s := startSite(t, 0, func(int) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				http.Error(w, http.StatusText(http.StatusForbidden), http.StatusForbidden)
				return
			}
			io.WriteString(w, `<form method="post"><input type="hidden" name="csrfmiddlewaretoken" value="t0ken"></form>`)
		})
	})
	rep := scan(t, s, audit.ScanOptions{PostPaths: []string{"/"}})
	if got := ids(rep.Findings); !slices.Contains(got, "BW227") || slices.Contains(got, "BW221") {
		t.Errorf("got %v, want BW227 and no BW221", got)
	}
}

// Scanning the plain-HTTP URL follows the redirect to HTTPS on the same
// host and audits that.
func TestScanFromPlainHTTP(t *testing.T) {
	s := hardenedSite(t)
	rep, err := audit.Scan(context.Background(), s.plain.URL+"/", audit.ScanOptions{RootCAs: s.pool})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(withoutNetHTTPFraming(rep.Findings)); !slices.Equal(got, []string{"BW208"}) {
		t.Errorf("got %v, want [BW208]", got)
	}
}

// withoutNetHTTPFraming drops BW242 and BW243, which every net/http
// server gets (see TestScanHardened).
func withoutNetHTTPFraming(fs []audit.Finding) []audit.Finding {
	return slices.DeleteFunc(slices.Clone(fs), func(f audit.Finding) bool { return f.ID == "BW242" || f.ID == "BW243" })
}

// On a registrable domain (example.com, which the test certificate names,
// resolved to loopback), the hardened site meets every preload rule: no
// finding at all.
func TestScanPreloadEligible(t *testing.T) {
	rep := scanExampleCom(t, "example.com", audit.ScanOptions{PostPaths: []string{"/submit"}})
	if fs := withoutNetHTTPFraming(rep.Findings); len(fs) != 0 {
		t.Errorf("findings: %v", rep.Findings)
	}
	for _, p := range rep.Probes {
		if u, err := url.Parse(p.URL); err != nil || (u.Hostname() != "example.com" && u.Hostname() != "evil.example") {
			t.Errorf("probe %s went to %q", p.Name, p.URL)
		}
	}
}

// Resolve keys match the host whatever their case: the scan never falls
// back to the system resolver for a host they name.
func TestScanResolveAnyCase(t *testing.T) {
	rep := scanExampleCom(t, "Example.COM", audit.ScanOptions{})
	if rep.TLSVersion == "" {
		t.Errorf("no TLS connection made: %+v", rep.Probes)
	}
}

// scanExampleCom scans a hardened site as https://example.com, resolved
// to loopback through opts.Resolve[key].
func scanExampleCom(t *testing.T, key string, opts audit.ScanOptions) audit.Report {
	t.Helper()
	s := hardenedSite(t, "example.com")
	tlsPort := strconv.Itoa(s.tls.Listener.Addr().(*net.TCPAddr).Port)
	plainPort := strconv.Itoa(s.plain.Listener.Addr().(*net.TCPAddr).Port)
	opts.RootCAs = s.pool
	opts.HTTPURL = "http://example.com:" + plainPort + "/"
	opts.Resolve = map[string]string{key: "127.0.0.1"}
	rep, err := audit.Scan(context.Background(), "https://example.com:"+tlsPort+"/", opts)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// A POST path that resolves to another host is a usage error, not a
// probe silently skipped.
func TestScanRefusesForeignPostPath(t *testing.T) {
	s := hardenedSite(t)
	for _, p := range []string{"//evil.example/submit", "//EVIL.example:443/"} {
		_, err := audit.Scan(context.Background(), s.tls.URL+"/", audit.ScanOptions{RootCAs: s.pool, PostPaths: []string{p}})
		if err == nil || !strings.Contains(err.Error(), "POST path") {
			t.Errorf("PostPaths %q: err %v, want a refusal", p, err)
		}
	}
	if _, err := audit.Scan(context.Background(), s.tls.URL+"/", audit.ScanOptions{RootCAs: s.pool, HTTPURL: s.plain.URL + "/", PostPaths: []string{"submit"}}); err != nil {
		t.Errorf("relative path: %v", err)
	}
}
