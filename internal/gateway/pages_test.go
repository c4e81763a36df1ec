package gateway_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/gateway"
)

func writePages(t *testing.T) (dir string) {
	dir = t.TempDir()
	for name, src := range map[string]string{
		"415.html": `<!doctype html><title>{{.Title}}</title><p>This file can't be accepted. Choose a picture in one of these formats: {{range $i, $t := .Allowed}}{{if $i}}, {{end}}{{$t}}{{end}}.</p><p><a href="/">Back to the site</a></p><p>Reference: <code>{{.RequestID}}</code></p>`,
		"415.json": `{"status": {{.Status}}, "error": {{json .Title}}, "request_id": {{json .RequestID}}, "allowed": {{json .Allowed}}}`,
		"400.html": `<!doctype html><title>{{.Title}}</title><p>Reference {{.RequestID}}</p>`,
		"502.json": `{"error": "the site is down", "request_id": {{json .RequestID}}}`,
		"bad.json": `{"error": {{.Title}}}`,
		"bad.html": `{{.Nope}}`,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// Refusal pages: chosen by status and Accept, carrying the request id
// that the access log and the refusal event share; never echoing input;
// the upstream's own error pages untouched.
func TestRefusalPages(t *testing.T) {
	dir := writePages(t)
	up := &upstream{}
	up.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/forbidden" {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, "the app's own 403")
			return
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(up.Close)
	e := start(t, up, func(c *gateway.Config) {
		c.Pages.HTML = map[string]string{"415": filepath.Join(dir, "415.html"), "400": filepath.Join(dir, "400.html")}
		c.Pages.JSON = map[string]string{"415": filepath.Join(dir, "415.json")}
		c.Uploads.Policy.Allow = []string{"image/png", "image/jpeg"}
	})
	polyglot := append(pngBytes(t), []byte("<html><script>alert(1)</script>")...)
	post := func(accept string) (*http.Response, string) {
		body, ct := multipartBody(t, "photo", "<b>name</b>.png", polyglot)
		req, _ := http.NewRequest("POST", e.https+"/profile/photo/?q=<i>x</i>", body)
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		return e.do(req)
	}

	resp, body := post("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	id := resp.Header.Get("X-Request-Id")
	if resp.StatusCode != 415 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("browser: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{"image/png, image/jpeg", `<a href="/">Back to the site</a>`, id} {
		if !strings.Contains(body, want) {
			t.Errorf("HTML page lacks %q: %s", want, body)
		}
	}
	for _, input := range []string{"<b>name</b>", "<i>x</i>", "script"} {
		if strings.Contains(body, input) {
			t.Errorf("page echoes request input %q", input)
		}
	}
	if len(id) != 16 {
		t.Errorf("X-Request-Id %q", id)
	}
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("no nosniff on the page")
	}

	// The access log line and the refusal event carry the same id.
	var access, event bool
	for _, line := range strings.Split(e.logs.String(), "\n") {
		if !strings.Contains(line, `"request_id":"`+id+`"`) {
			continue
		}
		access = access || strings.Contains(line, `"event":"access"`) && strings.Contains(line, `"status":415`)
		event = event || strings.Contains(line, `"event":"upload_refused"`)
	}
	if !access || !event {
		t.Errorf("request id %s: in the access log %v, in the refusal event %v\n%s", id, access, event, e.logs.String())
	}

	resp, body = post("application/json")
	var j struct {
		Status    int      `json:"status"`
		Error     string   `json:"error"`
		RequestID string   `json:"request_id"`
		Allowed   []string `json:"allowed"`
	}
	if err := json.Unmarshal([]byte(body), &j); err != nil || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("JSON client: %q %q: %v", resp.Header.Get("Content-Type"), body, err)
	}
	if j.Status != 415 || j.RequestID != resp.Header.Get("X-Request-Id") || len(j.Allowed) != 2 {
		t.Errorf("JSON page %+v", j)
	}
	if resp.Header.Get("Vary") != "Accept" {
		t.Errorf("a page chosen by Accept: Vary %q", resp.Header.Values("Vary"))
	}
	if j.RequestID == id {
		t.Errorf("two requests share the id %s", id)
	}

	// 400 (unlisted host) has an HTML page only: JSON clients get it too.
	resp, body = e.get(e.https+"/", "Host", "evil.example", "Accept", "application/json")
	if resp.StatusCode != 400 || !strings.Contains(body, resp.Header.Get("X-Request-Id")) || strings.Contains(body, "evil") {
		t.Errorf("400: %d %q", resp.StatusCode, body)
	}
	// A status without a page: the built-in body, with the id.
	req, _ := http.NewRequest("POST", e.https+"/form", strings.NewReader("a=1"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, body = e.do(req)
	if resp.StatusCode != 403 || strings.TrimSpace(body) != "Forbidden" || resp.Header.Get("X-Request-Id") == "" {
		t.Errorf("403 without a page: %d %q id %q", resp.StatusCode, body, resp.Header.Get("X-Request-Id"))
	}
	// The upstream's own 403 is its own.
	resp, body = e.get(e.https + "/forbidden")
	if resp.StatusCode != 403 || body != "the app's own 403" || resp.Header.Get("X-Request-Id") != "" {
		t.Errorf("upstream 403 replaced: %d %q", resp.StatusCode, body)
	}
}

func TestRefusalPage502(t *testing.T) {
	dir := writePages(t)
	up := newUpstream(t)
	e := start(t, up, func(c *gateway.Config) {
		c.Pages.JSON = map[string]string{"502": filepath.Join(dir, "502.json")}
	})
	up.Close()
	resp, body := e.get(e.https+"/x", "Accept", "application/json")
	if resp.StatusCode != 502 || !strings.Contains(body, "the site is down") || !strings.Contains(body, resp.Header.Get("X-Request-Id")) {
		t.Errorf("502: %d %q", resp.StatusCode, body)
	}
}

func TestRefusalPagesValidated(t *testing.T) {
	dir := writePages(t)
	base := "[upstream]\nurl = \"http://127.0.0.1:8000\"\n[tls]\ncert_file = \"c.pem\"\nkey_file = \"k.pem\"\n"
	for _, tc := range []struct{ doc, want string }{
		{"[pages.html]\n404 = \"" + filepath.Join(dir, "400.html") + "\"\n", `"404" is not one of the statuses`},
		{"[pages.html]\n415 = \"" + filepath.Join(dir, "missing.html") + "\"\n", "no such file"},
		{"[pages.html]\n415 = \"" + filepath.Join(dir, "bad.html") + "\"\n", "Nope"},
		{"[pages.json]\n415 = \"" + filepath.Join(dir, "bad.json") + "\"\n", "valid JSON"},
		{"[pages.json]\n415 = \"" + filepath.Join(dir, "415.json") + "\"\n[pages.html]\n415 = \"" + filepath.Join(dir, "415.html") + "\"\n", ""},
	} {
		_, err := gateway.Parse([]byte(base + tc.doc))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.doc, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want %q", tc.doc, err, tc.want)
		}
	}
}

// The example pages shipped in examples/pages load and render.
func TestExamplePages(t *testing.T) {
	base := "[upstream]\nurl = \"http://127.0.0.1:8000\"\n[tls]\ncert_file = \"c.pem\"\nkey_file = \"k.pem\"\n[pages.html]\n"
	dir, _ := filepath.Abs("../../examples/pages")
	for _, s := range gateway.PageStatuses {
		base += fmt.Sprintf("%d = %q\n", s, filepath.Join(dir, fmt.Sprintf("%d.html", s)))
	}
	base += fmt.Sprintf("[pages.json]\n415 = %q\n502 = %q\n", filepath.Join(dir, "415.json"), filepath.Join(dir, "error.json"))
	if _, err := gateway.Parse([]byte(base)); err != nil {
		t.Fatalf("examples/pages: %v", err)
	}
}
