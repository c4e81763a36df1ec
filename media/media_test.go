package media_test

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/media"
)

func setup(t testing.TB) (*media.Handler, string) {
	t.Helper()
	dir := t.TempDir()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	write := func(name, data string, m *media.Meta) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		if m != nil {
			if err := media.WriteSidecar(root, name, *m, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	write("ab/cat.png", "\x89PNG fake", &media.Meta{Type: "image/png", Filename: "Chat noir.png"})
	write("ab/doc.pdf", "%PDF-1.4", &media.Meta{Type: "application/pdf", Filename: "Résumé \"final\".pdf"})
	write("ab/x.svg", "<svg onload=alert(1)/>", &media.Meta{Type: "image/svg+xml"})
	write("ab/page.html", "<script>alert(1)</script>", &media.Meta{Type: "text/html"})
	write("ab/nometa.png", "<html><script>alert(1)</script>", nil)
	write(".secret", "dotfile", nil)
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "passwd"), []byte("root:x:0:0"), 0o644)
	if err := os.Symlink(filepath.Join(outside, "passwd"), filepath.Join(dir, "ab", "link")); err != nil {
		t.Fatal(err)
	}
	h, err := media.New(media.Config{Hosts: []string{"usercontent.example.net"}, SiteHosts: []string{"www.example.com"}, Dir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h, dir
}

func get(h http.Handler, host, target string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", "/", nil)
	r.Host = host
	r.URL.Path = target
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestServe(t *testing.T) {
	h, _ := setup(t)
	const host = "usercontent.example.net"
	for _, tc := range []struct {
		host, path  string
		status      int
		ctype, disp string
	}{
		{host, "/ab/cat.png", 200, "image/png", `inline; filename="Chat noir.png"`},
		{"UserContent.Example.NET:443", "/ab/cat.png", 200, "image/png", "inline"},
		{host, "/ab/doc.pdf", 200, "application/pdf", `attachment; filename="R__sum__ _final_.pdf"; filename*=UTF-8''R%C3%A9sum%C3%A9%20%22final%22.pdf`},
		// Active types are never inline.
		{host, "/ab/x.svg", 200, "image/svg+xml", "attachment"},
		{host, "/ab/page.html", 200, "text/html", "attachment"},
		// No metadata: opaque download, never sniffed.
		{host, "/ab/nometa.png", 200, "application/octet-stream", "attachment"},
		// Attacks.
		{"www.example.com", "/ab/cat.png", 404, "", ""},
		{host, "/.secret", 404, "", ""},
		{host, "/ab/.cat.png.meta", 404, "", ""},
		{host, "/ab/", 404, "", ""},
		{host, "/ab", 404, "", ""},
		{host, "/", 404, "", ""},
		{host, "/ab/../.secret", 404, "", ""},
		{host, "/../../etc/passwd", 404, "", ""},
		{host, "/ab/link", 404, "", ""},
		{host, `/ab\..\.secret`, 404, "", ""},
		{host, "/ab/cat.png\x00.txt", 404, "", ""},
		{host, "/ab%2F..%2F.secret", 404, "", ""},
		{host, "/%2e%2e/%2e%2e/etc/passwd", 404, "", ""},
		{host, "/ab\u2215..\u2215.secret", 404, "", ""},
		{host, "/ab\uff0f..\uff0f.secret", 404, "", ""},
		{host, "//etc/passwd", 404, "", ""},
		{host, "/C:/Windows/win.ini", 404, "", ""},
	} {
		w := get(h, tc.host, tc.path)
		if w.Code != tc.status {
			t.Errorf("%s %q: status %d, want %d", tc.host, tc.path, w.Code, tc.status)
			continue
		}
		if w.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%q: no nosniff", tc.path)
		}
		if tc.status != 200 {
			if strings.Contains(w.Body.String(), "root:") || strings.Contains(w.Body.String(), "dotfile") {
				t.Errorf("%q leaked content", tc.path)
			}
			continue
		}
		if got := w.Header().Get("Content-Type"); got != tc.ctype {
			t.Errorf("%q: Content-Type %q, want %q", tc.path, got, tc.ctype)
		}
		if got := w.Header().Get("Content-Disposition"); !strings.HasPrefix(got, tc.disp) {
			t.Errorf("%q: Content-Disposition %q, want prefix %q", tc.path, got, tc.disp)
		}
		if got := w.Header().Get("Content-Security-Policy"); got != "default-src 'none'; sandbox" {
			t.Errorf("%q: CSP %q", tc.path, got)
		}
		if w.Header().Get("Cross-Origin-Resource-Policy") != "cross-origin" || w.Header().Get("ETag") == "" {
			t.Errorf("%q: headers %v", tc.path, w.Header())
		}
	}
}

func TestRangesAndConditional(t *testing.T) {
	h, _ := setup(t)
	r := httptest.NewRequest("GET", "/ab/cat.png", nil)
	r.Host = "usercontent.example.net"
	r.Header.Set("Range", "bytes=0-3")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 206 || w.Body.String() != "\x89PNG" {
		t.Fatalf("range: %d %q", w.Code, w.Body.String())
	}
	etag := w.Header().Get("ETag")
	r.Header.Del("Range")
	r.Header.Set("If-None-Match", etag)
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 304 {
		t.Fatalf("If-None-Match: %d", w.Code)
	}
	r = httptest.NewRequest("POST", "/ab/cat.png", nil)
	r.Host = "usercontent.example.net"
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 405 {
		t.Fatalf("POST: %d", w.Code)
	}
}

func TestConfigSameSite(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		media, site string
		ok          bool
	}{
		{"media.example.com", "www.example.com", false}, // a subdomain is same-site
		{"example.com", "example.com", false},
		{"usercontent.example.co.uk", "www.example.co.uk", false},
		{"example-usercontent.com", "www.example.com", true},
		{"foo.github.io", "bar.github.io", true}, // public suffix: distinct sites
		{"127.0.0.1", "127.0.0.1", false},
		{"127.0.0.2", "127.0.0.1", true},
		// Site hosts written as patterns or with a port are refused, not
		// compared as unreadable (and so "another site").
		{"media.example.com", ".example.com", false},
		{"media.example.com", "*.example.com", false},
		{"media.example.com", "www.example.com:8000", false},
		{".media.example.com", "www.example.net", false},
		{"media.example.com", "[::1]", true},
	} {
		_, err := media.New(media.Config{Hosts: []string{tc.media}, SiteHosts: []string{tc.site}, Dir: dir})
		if (err == nil) != tc.ok {
			t.Errorf("media %s site %s: err %v, want ok=%v", tc.media, tc.site, err, tc.ok)
		}
		if err != nil && !errors.Is(err, media.ErrConfig) {
			t.Errorf("error %v does not wrap ErrConfig", err)
		}
	}
	if _, err := media.New(media.Config{Hosts: []string{"m.example.net"}, Dir: dir}); err == nil {
		t.Error("missing site_hosts accepted")
	}
	if err := (media.Config{}).Validate(); err != nil {
		t.Errorf("zero config (disabled): %v", err)
	}
	if _, err := media.New(media.Config{}); err == nil {
		t.Error("New accepted the zero config")
	}
}
