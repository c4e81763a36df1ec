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
	"testing"
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
