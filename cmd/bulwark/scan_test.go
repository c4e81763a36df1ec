package main

import (
	"crypto/tls"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// TestScanCommand runs "bulwark scan" against a bare loopback site.
func TestScanCommand(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "<a href=\"https://%s/\">home</a>", r.Host)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.TLS = &tls.Config{}
	srv.StartTLS()
	defer srv.Close()
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	// The site's plain-HTTP port is closed: the redirect is reported as
	// unreachable (info), the rest is scanned.
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()

	var out, errb strings.Builder
	code := run([]string{"scan", srv.URL + "/", "--ca", ca, "--http-url", closedURL + "/"}, &out, &errb)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (stderr %q)", code, errb.String())
	}
	for _, want := range []string{"BW204 info", "BW205 error", "BW219 error Host:", "BW220 error"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}

	out.Reset()
	html := filepath.Join(dir, "report.html")
	code = run([]string{"scan", "--json", "--html", html, "--ca", ca, "--http-url", closedURL + "/", srv.URL + "/"}, &out, &errb)
	if code != 1 || !strings.Contains(out.String(), `"id": "BW205"`) {
		t.Errorf("--json: exit %d, output:\n%s", code, out.String())
	}
	if b, err := os.ReadFile(html); err != nil || !strings.Contains(string(b), `<td class="id">BW205</td>`) {
		t.Errorf("HTML report: %v", err)
	}

	// Without the CA, the certificate is untrusted (BW224), and the scan
	// still reports the rest.
	out.Reset()
	code = run([]string{"scan", srv.URL + "/", "--http-url", closedURL + "/"}, &out, &errb)
	if code != 1 || !strings.Contains(out.String(), "BW224 error") {
		t.Errorf("untrusted certificate: exit %d, output:\n%s", code, out.String())
	}

	// --resolve, in both spellings: the certificate names example.com.
	port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]
	for _, r := range []string{"example.com:127.0.0.1", "example.com:" + port + ":127.0.0.1", "example.com:127.0.0.1:" + port} {
		out.Reset()
		code = run([]string{"scan", "https://example.com:" + port + "/", "--resolve", r, "--ca", ca, "--http-url", "http://example.com:1/"}, &out, &errb)
		if code != 1 || strings.Contains(out.String(), "BW224") || !strings.Contains(out.String(), "BW205") {
			t.Errorf("--resolve %s: exit %d, output:\n%s", r, code, out.String())
		}
	}

	// An unreachable site is exit 2.
	out.Reset()
	if code := run([]string{"scan", strings.Replace(closedURL, "http://", "https://", 1) + "/", "--http-url", closedURL + "/"}, &out, &errb); code != 2 {
		t.Errorf("unreachable: exit %d, want 2", code)
	}
}

// TestScanCIGate runs "bulwark scan" as a CI gate: SARIF valid against
// the SARIF 2.1.0 schema, --fail-on, and a baseline that accepts the
// findings of an earlier report so that only new ones fail.
func TestScanCIGate(t *testing.T) {
	var corsHole atomic.Bool
	var self atomic.Value // the server's host:port
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains; preload")
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("Referrer-Policy", "same-origin")
		w.Header().Set("Cross-Origin-Opener-Policy", "same-origin")
		w.Header().Set("Content-Security-Policy", "default-src 'self'")
		if corsHole.Load() {
			w.Header().Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
			w.Header().Set("Access-Control-Allow-Credentials", "true")
		}
		if r.Host != self.Load() {
			http.Error(w, "Bad Request", http.StatusBadRequest)
			return
		}
		io.WriteString(w, "<p>ok</p>") // no nosniff: BW209, a warning
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.TLS = &tls.Config{}
	srv.StartTLS()
	defer srv.Close()
	self.Store(strings.TrimPrefix(srv.URL, "https://"))
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	scan := func(extra ...string) (int, string) {
		var out, errb strings.Builder
		args := append([]string{"scan", srv.URL + "/", "--ca", ca, "--http-url", closedURL + "/"}, extra...)
		code := run(args, &out, &errb)
		if code == 2 {
			t.Fatalf("%v: exit 2: %s", extra, errb.String())
		}
		return code, out.String()
	}

	// Warnings only: clean at the default --fail-on error, failing at
	// warning.
	if code, out := scan(); code != 0 || !strings.Contains(out, "BW209 warning") {
		t.Errorf("--fail-on error: exit %d\n%s", code, out)
	}
	if code, _ := scan("--fail-on", "warning"); code != 1 {
		t.Errorf("--fail-on warning: exit %d, want 1", code)
	}

	// SARIF, validated against the schema.
	code, sarif := scan("--format", "sarif")
	if code != 0 {
		t.Errorf("--format sarif: exit %d", code)
	}
	validateSARIF(t, []byte(sarif))

	// Today's report is tomorrow's baseline: the same findings pass at
	// --fail-on warning, a new one (a CORS hole) fails.
	_, report := scan("--format", "json")
	base := filepath.Join(dir, "baseline.json")
	if err := os.WriteFile(base, []byte(report), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out := scan("--baseline", base, "--fail-on", "warning"); code != 0 || !strings.Contains(out, "(baselined)") {
		t.Errorf("baselined: exit %d\n%s", code, out)
	}
	corsHole.Store(true)
	if code, out := scan("--baseline", base, "--fail-on", "warning"); code != 1 || !strings.Contains(out, "BW236 error") {
		t.Errorf("a new finding: exit %d\n%s", code, out)
	}
	var errb strings.Builder
	if code := run([]string{"scan", srv.URL + "/", "--baseline", filepath.Join(dir, "missing.json")}, io.Discard, &errb); code != 2 {
		t.Errorf("missing baseline: exit %d, want 2", code)
	}
}

// validateSARIF checks a SARIF log against the OASIS SARIF 2.1.0 schema
// that package audit's tests vendor.
func validateSARIF(t *testing.T, b []byte) {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "audit", "testdata", "sarif-schema-2.1.0.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("sarif.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("sarif.json")
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(string(b)))
	if err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	if err := sch.Validate(inst); err != nil {
		t.Errorf("SARIF does not match the 2.1.0 schema: %v", err)
	}
}
