package gateway_test

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/gateway"
	"github.com/bulwarkdev/bulwark/media"
)

func pngBytes(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	img.Set(1, 1, color.RGBA{255, 0, 0, 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func multipartBody(t *testing.T, field, filename string, content []byte) (*bytes.Buffer, string) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	mw.WriteField("title", "holiday")
	fw, err := mw.CreateFormFile(field, filename)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(content)
	mw.Close()
	return &b, mw.FormDataContentType()
}

func TestUploadInspection(t *testing.T) {
	e := start(t, nil, func(c *gateway.Config) { c.Uploads.Paths = []string{"/upload/"} })
	clean := pngBytes(t)
	polyglot := append(append([]byte{}, clean...), []byte("<html><script>alert(document.cookie)</script></html>")...)
	for _, tc := range []struct {
		name     string
		path     string
		filename string
		content  []byte
		want     int
		reached  bool
	}{
		{"clean png reaches the upstream", "/upload/avatar", "a.png", clean, 200, true},
		{"png+html polyglot refused at the edge", "/upload/avatar", "a.png", polyglot, 415, false},
		{"html named png refused", "/upload/avatar", "a.png", []byte("<html><script>x</script>"), 415, false},
		{"dot segments refused before inspection", "/x/../upload/avatar", "a.png", polyglot, 400, false},
		{"dot segments out of an upload path refused", "/upload/../x", "a.png", polyglot, 400, false},
		{"encoded dot segments refused", "/upload/%2e%2e/x", "a.png", polyglot, 400, false},
		{"other paths are not inspected", "/echo", "a.png", polyglot, 200, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.up.hits.Load()
			body, ct := multipartBody(t, "avatar", tc.filename, tc.content)
			size := body.Len()
			req, _ := http.NewRequest("POST", e.https+tc.path, body)
			req.URL.Opaque = "//" + req.URL.Host + tc.path // keep the dot segments as sent
			req.Header.Set("Content-Type", ct)
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			resp, got := e.do(req)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d %q, want %d", resp.StatusCode, got, tc.want)
			}
			reached := e.up.hits.Load() > before
			if reached != tc.reached {
				t.Fatalf("upstream reached = %v, want %v", reached, tc.reached)
			}
			if !reached && strings.TrimSpace(got) != http.StatusText(tc.want) {
				t.Errorf("body %q, want the status text", got)
			}
			if reached {
				if ec := decodeEcho(t, got); ec.BodyLen != size {
					t.Errorf("upstream read %d bytes, the client sent %d", ec.BodyLen, size)
				}
			}
		})
	}
	if !contains(e.logs.String(), `"event":"upload_refused"`) {
		t.Errorf("no upload_refused event")
	}
	if !contains(e.logs.String(), `"event":"path_refused","reason":"dot_segment"`) {
		t.Errorf("no path_refused event")
	}
	// A safe request with dot segments is refused too: the upstream would
	// route it differently from the edge's path rules.
	hits := e.up.hits.Load()
	req, _ := http.NewRequest("GET", e.https+"/x/../echo", nil)
	req.URL.Opaque = "//" + req.URL.Host + "/x/../echo"
	if resp, body := e.do(req); resp.StatusCode != 400 {
		t.Errorf("GET with dot segments: %d %q, want 400", resp.StatusCode, body)
	}
	if e.up.hits.Load() != hits {
		t.Errorf("the upstream saw a GET with dot segments")
	}
}

func TestUploadTooLargeIs413NotBadGateway(t *testing.T) {
	e := start(t, nil, func(c *gateway.Config) {
		c.Uploads.Paths = []string{"/upload/"}
		c.Limits.MaxBodyBytes = 64 << 10
	})
	big := bytes.Repeat([]byte("A"), 100<<10)
	for _, chunked := range []bool{false, true} {
		body, ct := multipartBody(t, "f", "a.png", big)
		var rd interface{ Read([]byte) (int, error) } = body
		if chunked {
			rd = struct{ *bytes.Buffer }{body} // hides Len: sent chunked
		}
		for _, path := range []string{"/upload/x", "/echo"} {
			req, _ := http.NewRequest("POST", e.https+path, rd)
			req.Header.Set("Content-Type", ct)
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			resp, got := e.do(req)
			if resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Errorf("chunked=%v %s: status %d %q, want 413", chunked, path, resp.StatusCode, got)
			}
			body, _ = multipartBody(t, "f", "a.png", big)
			rd = body
			if chunked {
				rd = struct{ *bytes.Buffer }{body}
			}
		}
	}
}

func TestCSRFAtTheEdge(t *testing.T) {
	e := start(t, nil, func(c *gateway.Config) {
		c.Edge.CSRFPaths = []string{"/app/"}
		c.CSRF.TrustedOrigins = []string{"https://partner.test"}
	})
	for _, tc := range []struct {
		name, path string
		hdr        []string
		want       int
	}{
		{"same-origin post", "/app/form", []string{"Sec-Fetch-Site", "same-origin"}, 200},
		{"cross-site post refused", "/app/form", []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.test"}, 403},
		{"foreign origin without fetch metadata", "/app/form", []string{"Origin", "https://evil.test"}, 403},
		{"http origin on https site (downgrade)", "/app/form", []string{"Origin", "http://site.test:" + e.httpsPrt}, 403},
		{"trusted origin", "/app/form", []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://partner.test"}, 200},
		{"unprotected path", "/api/hook", []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.test"}, 200},
		{"doubled slash", "//app/form", []string{"Sec-Fetch-Site", "cross-site"}, 403},
		{"dot segments refused", "/app/../api/hook", []string{"Sec-Fetch-Site", "same-origin"}, 400},
		{"unprotected path, same-origin", "/api/hook", []string{"Sec-Fetch-Site", "same-origin"}, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", e.https+tc.path, strings.NewReader("a=1"))
			req.URL.Opaque = "//" + req.URL.Host + tc.path // keep the path as sent
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for i := 0; i+1 < len(tc.hdr); i += 2 {
				req.Header.Set(tc.hdr[i], tc.hdr[i+1])
			}
			resp, body := e.do(req)
			if resp.StatusCode != tc.want {
				t.Errorf("status %d %q, want %d", resp.StatusCode, body, tc.want)
			}
			if tc.want != 200 && strings.TrimSpace(body) != http.StatusText(tc.want) {
				t.Errorf("403 body %q, want the status text", body)
			}
		})
	}
}

// TestCSRFAllPathsByDefault: an empty csrf_paths list protects every path
// (leaving the list out, or writing [], never switches the check off), and
// allow_insecure_no_csrf is the one way to switch it off.
func TestCSRFAllPathsByDefault(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*gateway.Config)
		want   int
	}{
		{"nil", nil, 403},
		{"empty", func(c *gateway.Config) { c.Edge.CSRFPaths = []string{} }, 403},
		{"switched off", func(c *gateway.Config) { c.Edge.AllowInsecureNoCSRF = true }, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := start(t, nil, tc.mutate)
			for _, path := range []string{"/", "/any/where"} {
				req, _ := http.NewRequest("POST", e.https+path, strings.NewReader("a=1"))
				req.Header.Set("Sec-Fetch-Site", "cross-site")
				req.Header.Set("Origin", "https://evil.test")
				if resp, body := e.do(req); resp.StatusCode != tc.want {
					t.Errorf("%s: status %d %q, want %d", path, resp.StatusCode, body, tc.want)
				}
			}
		})
	}
}

func TestCSRFRefusalsCounted(t *testing.T) {
	e := start(t, nil, nil)
	req, _ := http.NewRequest("POST", e.https+"/form", strings.NewReader("a=1"))
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Origin", "https://evil.test")
	if resp, _ := e.do(req); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("status %d, want 403", resp.StatusCode)
	}
	if e.up.hits.Load() != 0 {
		t.Errorf("the upstream saw a cross-site POST")
	}
	r, err := http.Get(e.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	line := grepLines(string(b), `bulwark_refusals_total{event="csrf_failure"`)
	if !strings.HasSuffix(line, "} 1") || strings.Contains(line, "evil") {
		t.Errorf("csrf refusal not counted:\n%s", grepLines(string(b), "bulwark_refusals_total"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestMediaHost(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "cat.png"), pngBytes(t), 0o644)
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	if err := media.WriteSidecar(root, "cat.png", media.Meta{Type: "image/png"}, 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "evil.html"), []byte("<script>alert(1)</script>"), 0o644)
	media.WriteSidecar(root, "evil.html", media.Meta{Type: "text/html"}, 0o644)

	e := start(t, nil, func(c *gateway.Config) {
		c.Media.Hosts = []string{"media.test"}
		c.Media.Dir = dir
	})
	mediaURL := strings.Replace(e.https, siteHost, "media.test", 1)
	resp, body := e.get(mediaURL + "/cat.png")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("cat.png: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body[:min(len(body), 40)])
	}
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Content-Security-Policy") == "" {
		t.Errorf("media headers: %v", resp.Header)
	}
	if len(resp.Header.Values("Strict-Transport-Security")) != 1 {
		t.Errorf("media host lacks HSTS")
	}
	resp, _ = e.get(mediaURL + "/evil.html")
	if resp.StatusCode == 200 && !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") && !strings.Contains(resp.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("HTML served inline without sandbox: %v", resp.Header)
	}
	if e.up.hits.Load() != 0 {
		t.Errorf("media requests reached the upstream")
	}
	// The site itself still proxies.
	if resp, _ := e.get(e.https + "/echo"); resp.StatusCode != 200 {
		t.Errorf("site: %d", resp.StatusCode)
	}
}

func TestUploadInspectionOverHTTP2(t *testing.T) {
	e := start(t, nil, func(c *gateway.Config) { c.Uploads.Paths = []string{"/upload/"} })
	c := e.newClient(true)
	clean := pngBytes(t)
	polyglot := append(append([]byte{}, clean...), []byte("<html><script>alert(1)</script>")...)
	for _, tc := range []struct {
		content []byte
		want    int
	}{{clean, 200}, {polyglot, 415}} {
		body, ct := multipartBody(t, "avatar", "a.png", tc.content)
		req, _ := http.NewRequest("POST", e.https+"/upload/avatar", struct{ io.Reader }{body}) // no length: streamed
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.ProtoMajor != 2 || resp.StatusCode != tc.want {
			t.Errorf("%s: status %d, want %d over HTTP/2", resp.Proto, resp.StatusCode, tc.want)
		}
	}
}
