package gateway_test

import (
	"encoding/json"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/gateway"
	"github.com/bulwarkdev/bulwark/internal/testsvc"
)

var csrfInput = regexp.MustCompile(`name="csrfmiddlewaretoken" value="([^"]+)"`)

// TestDjangoSiteEndToEnd deploys a real Django site (Debian's gunicorn and
// python3-django, an admin, an ImageField validated by Pillow, media in
// MEDIA_ROOT) behind the gateway on non-standard ports, with the defaults
// a first deployment gets, and walks it as a user: the plain-HTTP redirect
// lands on the HTTPS port; the admin login works through the edge's CSRF
// check and Django's; an upload through the admin is inspected without any
// upload path configured (a polyglot refused with the custom 415 page, a
// PNG accepted and stored by Django); the stored PNG is served inline with
// its image type by the media host; the public health path answers for a
// host no one listed.
func TestDjangoSiteEndToEnd(t *testing.T) {
	pages := t.TempDir()
	page415 := filepath.Join(pages, "415.html")
	os.WriteFile(page415, []byte(`<!doctype html><title>{{.Title}}</title><h1>This picture can't be used</h1><p>Choose a photo in one of these formats: {{range $i, $t := .Allowed}}{{if $i}}, {{end}}{{$t}}{{end}}, then <a href="javascript:history.back()">go back</a> and try again.</p><p>Reference: {{.RequestID}}</p>`), 0o644)

	// The gateway's ports are known once it listens; the site needs its
	// origin for Django 4's CSRF_TRUSTED_ORIGINS, so the site is
	// configured with the ports the environment gives the gateway.
	e := start(t, nil, func(c *gateway.Config) {
		c.HTTPS.RedirectPort = 0 // the default: the HTTPS listener's port
	})
	origin := e.https
	app, mediaRoot := testsvc.SiteApp(t, "SITE_ALLOWED_HOSTS="+strings.TrimPrefix(origin, "https://")+","+siteHost,
		"SITE_TRUSTED_ORIGINS="+origin)
	gun := testsvc.StartGunicorn(t, app)

	// The environment started with the echo upstream; point it at the
	// site (a reload: the listeners stay), with the media root Django
	// writes to.
	cfg := e.cfg
	cfg.HTTPS.RedirectPort = 0
	cfg.Upstream.URL = gun.URL
	cfg.Upstream.HealthPath = "/healthz/"
	cfg.Health.Path = "/-/health"
	cfg.Pages.HTML = map[string]string{"415": page415}
	cfg.Media.Hosts = []string{"media.test"}
	cfg.Media.Dir = mediaRoot
	if err := e.g.Reload(cfg); err != nil {
		t.Fatalf("reload onto the Django site: %v", err)
	}

	jar, _ := cookiejar.New(nil)
	c := e.newClient(false)
	c.Jar = jar
	do := func(req *http.Request) (*http.Response, string) {
		t.Helper()
		if req.Method == http.MethodPost {
			req.Header.Set("Origin", origin)
			req.Header.Set("Referer", req.URL.String())
			req.Header.Set("Sec-Fetch-Site", "same-origin")
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", req.Method, req.URL, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("%s %s: reading the body: %v", req.Method, req.URL, err)
		}
		return resp, string(b)
	}
	get := func(u string) (*http.Response, string) {
		req, _ := http.NewRequest("GET", u, nil)
		return do(req)
	}
	token := func(body string) string {
		t.Helper()
		m := csrfInput.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no CSRF token in the page:\n%s\n%s", body, gun.Log())
		}
		return html.UnescapeString(m[1])
	}

	// 1. Plain HTTP redirects to the HTTPS listener's port.
	resp, _ := get(e.http + "/admin/")
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != origin+"/admin/" {
		t.Fatalf("HTTP: %d Location %q, want 301 to %s/admin/", resp.StatusCode, resp.Header.Get("Location"), origin)
	}

	// 2. The admin login, through both CSRF checks.
	resp, body := get(origin + "/admin/login/?next=/admin/")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login page: %d\n%s", resp.StatusCode, gun.Log())
	}
	form := url.Values{"csrfmiddlewaretoken": {token(body)}, "username": {testsvc.SiteAdminUser},
		"password": {testsvc.SiteAdminPassword}, "next": {"/admin/"}}
	req, _ := http.NewRequest("POST", origin+"/admin/login/?next=/admin/", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, body = do(req)
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/admin/" {
		t.Fatalf("login: %d Location %q\n%s\n%s", resp.StatusCode, resp.Header.Get("Location"), body, gun.Log())
	}
	for _, sc := range resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(sc, "sessionid=") && !(strings.Contains(sc, "Secure") && strings.Contains(sc, "HttpOnly") && strings.Contains(sc, "SameSite=Lax")) {
			t.Errorf("session cookie not hardened: %s", sc)
		}
	}

	// 3. Uploads through the admin, inspected by default.
	addURL := origin + "/admin/photos/photo/add/"
	upload := func(file []byte) (*http.Response, string) {
		resp, body := get(addURL)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("add page: %d (not logged in?)", resp.StatusCode)
		}
		mb, ct := multipartFields(t, map[string]string{"csrfmiddlewaretoken": token(body), "title": "A cat", "_save": "Save"}, "image", "cat.png", file)
		req, _ := http.NewRequest("POST", addURL, mb)
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
		return do(req)
	}
	latest := func() (count int, name string) {
		_, body := get(origin + "/photos/latest/")
		var l struct {
			Count int    `json:"count"`
			Name  string `json:"name"`
		}
		if err := json.Unmarshal([]byte(body), &l); err != nil {
			t.Fatalf("latest: %q: %v", body, err)
		}
		return l.Count, l.Name
	}
	png := pngBytes(t)
	polyglot := append(append([]byte{}, png...), []byte("<html><script>alert(document.cookie)</script></html>")...)
	resp, body = upload(polyglot)
	if resp.StatusCode != http.StatusUnsupportedMediaType || !strings.Contains(body, "This picture can't be used") ||
		!strings.Contains(body, "image/png") || !strings.Contains(body, resp.Header.Get("X-Request-Id")) {
		t.Fatalf("polyglot: %d %q", resp.StatusCode, body)
	}
	if n, _ := latest(); n != 0 {
		t.Fatalf("the polyglot reached Django: %d photos", n)
	}
	resp, body = upload(png)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("PNG: %d\n%s\n%s", resp.StatusCode, body, gun.Log())
	}
	n, name := latest()
	if n != 1 || !strings.HasPrefix(name, "photos/") {
		t.Fatalf("after the PNG: %d photos, latest %q", n, name)
	}

	// The site's own form (not the admin) is inspected the same way.
	formUpload := func(file []byte) *http.Response {
		_, body := get(origin + "/photos/new/")
		mb, ct := multipartFields(t, map[string]string{"csrfmiddlewaretoken": token(body), "title": "Another"}, "image", "b.png", file)
		req, _ := http.NewRequest("POST", origin+"/photos/new/", mb)
		req.Header.Set("Content-Type", ct)
		resp, _ := do(req)
		return resp
	}
	if resp := formUpload(polyglot); resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("polyglot through the site's form: %d, want 415", resp.StatusCode)
	}
	if resp := formUpload(png); resp.StatusCode != http.StatusFound {
		t.Errorf("PNG through the site's form: %d, want 302\n%s", resp.StatusCode, gun.Log())
	}
	if n2, _ := latest(); n2 != 2 {
		t.Errorf("after the form: %d photos, want 2", n2)
	}

	// 4. The stored file, from the media host: inline, typed by content.
	mediaURL := strings.Replace(origin, siteHost, "media.test", 1) + "/" + name
	resp, body = get(mediaURL)
	if resp.StatusCode != http.StatusOK || body != string(png) {
		t.Fatalf("media: %d, %d bytes", resp.StatusCode, len(body))
	}
	for h, want := range map[string]string{
		"Content-Type": "image/png", "X-Content-Type-Options": "nosniff",
		"Content-Security-Policy": "default-src 'none'; sandbox",
	} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("media %s = %q, want %q", h, got, want)
		}
	}
	if d := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(d, "inline") {
		t.Errorf("media Content-Disposition %q, want inline", d)
	}

	// 5. The public health path, for a host nobody listed, over both
	// listeners; the upstream's health view is what it reports.
	for _, u := range []string{e.https, e.http} {
		resp, body := e.get(u+"/-/health", "Host", "10.0.0.7")
		if resp.StatusCode != http.StatusOK || body != "ok\n" {
			t.Errorf("%s/-/health: %d %q", u, resp.StatusCode, body)
		}
	}
}

// multipartFields builds a multipart body with fields and one file.
func multipartFields(t *testing.T, fields map[string]string, field, filename string, content []byte) (io.Reader, string) {
	t.Helper()
	var b strings.Builder
	mw := multipart.NewWriter(&b)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	fw, err := mw.CreateFormFile(field, filename)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(content)
	mw.Close()
	return strings.NewReader(b.String()), mw.FormDataContentType()
}
