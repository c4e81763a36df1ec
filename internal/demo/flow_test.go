package demo_test

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"html"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// browser is a minimal cookie-keeping client that behaves like a browser
// posting a same-origin form: it sends Origin and Sec-Fetch-Site.
type browser struct {
	t       *testing.T
	c       *http.Client
	origin  string
	cookies map[string]*http.Cookie
}

func newBrowser(t *testing.T, d *running) *browser {
	u, _ := url.Parse(d.SiteURL)
	return &browser{t: t, c: d.client(t), origin: "https://" + u.Host, cookies: map[string]*http.Cookie{}}
}

func (b *browser) do(req *http.Request) (*http.Response, string) {
	b.t.Helper()
	for _, c := range b.cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.MaxAge < 0 || c.Value == "" {
			delete(b.cookies, c.Name)
			continue
		}
		b.cookies[c.Name] = c
	}
	return resp, string(body)
}

func (b *browser) get(path string) (*http.Response, string) {
	b.t.Helper()
	req, _ := http.NewRequest("GET", b.origin+path, nil)
	req.Header.Set("Sec-Fetch-Site", "none")
	return b.do(req)
}

func (b *browser) post(path string, form url.Values, origin string) (*http.Response, string) {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.origin+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	b.setOrigin(req, origin)
	return b.do(req)
}

func (b *browser) setOrigin(req *http.Request, origin string) {
	req.Header.Set("Origin", origin)
	if origin == b.origin {
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	} else {
		req.Header.Set("Sec-Fetch-Site", "cross-site")
	}
}

func (b *browser) upload(path, token, name string, content []byte) (*http.Response, string) {
	b.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("csrfmiddlewaretoken", token)
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write(content)
	mw.Close()
	req, _ := http.NewRequest("POST", b.origin+path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	b.setOrigin(req, b.origin)
	return b.do(req)
}

var tokenField = regexp.MustCompile(`name="csrfmiddlewaretoken" value="([A-Za-z0-9]{64})"`)

func formToken(t *testing.T, body string) string {
	t.Helper()
	m := tokenField.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF token field in page:\n%s", body)
	}
	return m[1]
}

// checkHostCookie asserts the attributes every cookie of the site must
// have: the __Host- prefix (Secure, Path=/, no Domain: no sibling host or
// plain-HTTP attacker can set it), Secure, SameSite.
func checkHostCookie(t *testing.T, resp *http.Response, name string, httpOnly bool) *http.Cookie {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name != name {
			continue
		}
		if !strings.HasPrefix(c.Name, "__Host-") || !c.Secure || c.Path != "/" || c.Domain != "" {
			t.Errorf("cookie %s: Secure=%v Path=%q Domain=%q, want a __Host- cookie", c.Name, c.Secure, c.Path, c.Domain)
		}
		if c.SameSite != http.SameSiteLaxMode && c.SameSite != http.SameSiteStrictMode {
			t.Errorf("cookie %s: SameSite=%v, want Lax or Strict", c.Name, c.SameSite)
		}
		if c.HttpOnly != httpOnly {
			t.Errorf("cookie %s: HttpOnly=%v, want %v", c.Name, c.HttpOnly, httpOnly)
		}
		return c
	}
	t.Fatalf("response sets no %s cookie (Set-Cookie: %q)", name, resp.Header.Values("Set-Cookie"))
	return nil
}

func TestDemoSignInFlow(t *testing.T) {
	d := mustStart(t)
	b := newBrowser(t, d)

	resp, body := b.get("/")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /: %d", resp.StatusCode)
	}
	if !strings.Contains(body, d.Password) {
		t.Error("sign-in page does not show the demo password")
	}
	csrfCookie := checkHostCookie(t, resp, "__Host-csrftoken", false)
	token := formToken(t, body)

	// A planted session id (session fixation) must not survive sign-in.
	planted := strings.Repeat("A", 43)
	b.cookies["__Host-session"] = &http.Cookie{Name: "__Host-session", Value: planted}

	login := url.Values{"user": {d.User}, "password": {d.Password}}

	t.Run("attacks refused", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			form   url.Values
			origin string
		}{
			{"no token", login, b.origin},
			{"wrong token", withToken(login, strings.Repeat("a", 64)), b.origin},
			{"cross-site origin with a valid token", withToken(login, token), "https://evil.example"},
			{"media origin with a valid token", withToken(login, token), d.MediaURL},
			{"plain-http origin", withToken(login, token), strings.Replace(b.origin, "https:", "http:", 1)},
		} {
			resp, body := b.post("/login", tc.form, tc.origin)
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s: status %d, want 403", tc.name, resp.StatusCode)
			}
			if strings.TrimSpace(body) != "Forbidden" {
				t.Errorf("%s: body %q, want the status text", tc.name, body)
			}
		}
		resp, body := b.post("/login", withToken(url.Values{"user": {d.User}, "password": {"guess"}}, token), b.origin)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Wrong user or password") || strings.Contains(body, "Signed in as") {
			t.Errorf("wrong password: status %d", resp.StatusCode)
		}
	})

	resp, _ = b.post("/login", withToken(login, token), b.origin)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: status %d, want 303", resp.StatusCode)
	}
	sess := checkHostCookie(t, resp, "__Host-session", true)
	if sess.Value == planted {
		t.Error("session id planted before sign-in kept after it (fixation)")
	}
	rotated := checkHostCookie(t, resp, "__Host-csrftoken", false)
	if rotated.Value == csrfCookie.Value {
		t.Error("CSRF secret not rotated at sign-in")
	}

	// The token from before sign-in is dead.
	resp, _ = b.post("/guestbook", url.Values{"csrfmiddlewaretoken": {token}, "message": {"hi"}}, b.origin)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("pre-sign-in token after rotation: status %d, want 403", resp.StatusCode)
	}

	resp, body = b.get("/")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Signed in as <strong>demo</strong>") {
		t.Fatalf("not signed in after sign-in:\n%s", body)
	}
	token = formToken(t, body)

	// A CSRF-protected form; markup in it is shown as text.
	msg := `<script>alert(document.cookie)</script>`
	resp, _ = b.post("/guestbook", url.Values{"csrfmiddlewaretoken": {token}, "message": {msg}}, b.origin)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("guestbook: status %d, want 303", resp.StatusCode)
	}
	_, body = b.get("/")
	if strings.Contains(body, msg) || !strings.Contains(body, html.EscapeString(msg)) {
		t.Error("guestbook message not escaped")
	}
	if !strings.Contains(body, "signed it 1 time") {
		t.Error("per-session counter not kept")
	}

	// Sign out: the session is flushed server-side, so the old cookie no
	// longer signs anyone in even if a copy was kept.
	old := b.cookies["__Host-session"].Value
	token = formToken(t, body)
	resp, _ = b.post("/logout", url.Values{"csrfmiddlewaretoken": {token}}, b.origin)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out: status %d", resp.StatusCode)
	}
	b.cookies["__Host-session"] = &http.Cookie{Name: "__Host-session", Value: old}
	_, body = b.get("/")
	if strings.Contains(body, "Signed in as") {
		t.Error("session cookie still valid after sign-out")
	}
}

func withToken(v url.Values, token string) url.Values {
	out := url.Values{"csrfmiddlewaretoken": {token}}
	for k, vs := range v {
		out[k] = vs
	}
	return out
}

// pngImage returns a small valid PNG.
func pngImage(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for i := range 8 {
		img.Set(i, i, color.RGBA{200, 30, 30, 255})
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// pngPolyglot returns a valid PNG that also carries an HTML document in a
// tEXt chunk: rendered as a page (a sniffing browser, a media host that
// trusts the extension), it would run the script.
func pngPolyglot(t *testing.T) []byte {
	t.Helper()
	p := pngImage(t)
	text := []byte("Comment\x00<html><body><script>alert(document.domain)</script></body></html>")
	var chunk bytes.Buffer
	binary.Write(&chunk, binary.BigEndian, uint32(len(text)))
	chunk.WriteString("tEXt")
	chunk.Write(text)
	binary.Write(&chunk, binary.BigEndian, crc32.ChecksumIEEE(append([]byte("tEXt"), text...)))
	// After the signature (8) and IHDR (25 bytes).
	out := append([]byte{}, p[:33]...)
	out = append(out, chunk.Bytes()...)
	return append(out, p[33:]...)
}

var mediaLink = regexp.MustCompile(`<a href="(https://[^"]+)">([^<]+)</a>`)

func TestDemoUploads(t *testing.T) {
	d := mustStart(t)
	b := newBrowser(t, d)
	_, body := b.get("/")
	resp, _ := b.post("/login", withToken(url.Values{"user": {d.User}, "password": {d.Password}}, formToken(t, body)), b.origin)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", resp.StatusCode)
	}
	_, body = b.get("/")
	token := formToken(t, body)

	for _, tc := range []struct {
		name    string
		file    string
		content []byte
	}{
		{"png polyglot with html", "cat.png", pngPolyglot(t)},
		{"html named png", "cat.png", []byte("<!doctype html><script>alert(1)</script>")},
		{"svg with script", "logo.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)},
		{"elf program", "x.png", append([]byte("\x7fELF\x02\x01\x01"), make([]byte, 64)...)},
	} {
		resp, _ := b.upload("/upload", token, tc.file, tc.content)
		if resp.StatusCode != http.StatusUnsupportedMediaType {
			t.Errorf("%s: status %d, want 415", tc.name, resp.StatusCode)
		}
	}
	// Over the size limit: 413.
	resp, _ = b.upload("/upload", token, "big.png", append(pngImage(t), make([]byte, 3<<20)...))
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized upload: status %d, want 413", resp.StatusCode)
	}
	// No token: 403 before anything is parsed.
	resp, _ = b.upload("/upload", "", "cat.png", pngImage(t))
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("upload without token: status %d, want 403", resp.StatusCode)
	}

	img := pngImage(t)
	resp, _ = b.upload("/upload", token, `..\..\evil "name".png`, img)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("PNG upload: status %d, want 303", resp.StatusCode)
	}
	_, body = b.get("/")
	m := mediaLink.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("uploaded file not listed:\n%s", body)
	}
	fileURL := html.UnescapeString(m[1])
	if !strings.HasPrefix(fileURL, d.MediaURL+"/") {
		t.Fatalf("file served from %s, want the media origin %s", fileURL, d.MediaURL)
	}
	if strings.Contains(fileURL, "evil") || strings.Contains(fileURL, "..") {
		t.Errorf("stored name %q derives from the client's name", fileURL)
	}

	// Served from the media host, by the gateway, with the headers that
	// keep user content inert.
	c := d.client(t)
	resp, got := get(t, c, fileURL)
	if resp.StatusCode != http.StatusOK || got != string(img) {
		t.Fatalf("media GET: status %d, %d bytes", resp.StatusCode, len(got))
	}
	h := resp.Header
	for name, want := range map[string]string{
		"Content-Type":                 "image/png",
		"X-Content-Type-Options":       "nosniff",
		"Cross-Origin-Resource-Policy": "cross-origin",
	} {
		if h.Get(name) != want {
			t.Errorf("media %s: %q, want %q", name, h.Get(name), want)
		}
	}
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "sandbox") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("media CSP %q, want default-src 'none' and sandbox", csp)
	}
	if cd := h.Get("Content-Disposition"); cd == "" || strings.Contains(cd, `\`) || strings.Contains(cd, "..") {
		t.Errorf("media Content-Disposition %q", cd)
	}
	if len(h.Values("Set-Cookie")) != 0 {
		t.Error("media host sets cookies")
	}
	// The media host is another site: the site's cookies are host-only
	// __Host- cookies for localhost, which browsers never send to
	// 127.0.0.1; and the media host serves no page of the app.
	resp, _ = get(t, c, d.MediaURL+"/")
	if resp.StatusCode == http.StatusOK {
		t.Error("media host serves the app's home page")
	}
	// Sidecar metadata is never served.
	stored := strings.TrimPrefix(fileURL, d.MediaURL+"/")
	dir, file, _ := strings.Cut(stored, "/")
	resp, _ = get(t, c, d.MediaURL+"/"+dir+"/."+file+".meta")
	if resp.StatusCode == http.StatusOK {
		t.Error("media host serves sidecar metadata")
	}
	// Anything but a raster image is served as a download, never inline.
	pdf := []byte("%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n" +
		"xref\n0 3\n0000000000 65535 f \n0000000009 00000 n \n0000000058 00000 n \ntrailer\n<< /Size 3 /Root 1 0 R >>\nstartxref\n110\n%%EOF\n")
	_, body = b.get("/")
	resp, _ = b.upload("/upload", formToken(t, body), "report.pdf", pdf)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("PDF upload: status %d, want 303", resp.StatusCode)
	}
	_, body = b.get("/")
	var pdfURL string
	for _, m := range mediaLink.FindAllStringSubmatch(body, -1) {
		if m[2] == "report.pdf" {
			pdfURL = html.UnescapeString(m[1])
		}
	}
	if pdfURL == "" || !strings.HasSuffix(pdfURL, ".pdf") {
		t.Fatalf("PDF not listed under a .pdf name:\n%s", body)
	}
	resp, _ = get(t, c, pdfURL)
	if cd := resp.Header.Get("Content-Disposition"); resp.StatusCode != http.StatusOK || !strings.HasPrefix(cd, "attachment") || !strings.Contains(cd, "report.pdf") {
		t.Errorf("PDF from the media host: status %d, Content-Disposition %q, want an attachment named report.pdf", resp.StatusCode, cd)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "sandbox") || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("PDF from the media host: CSP %q, nosniff %q", csp, resp.Header.Get("X-Content-Type-Options"))
	}

	// The site host does not serve media.
	resp, _ = get(t, c, d.SiteURL+stored)
	if resp.StatusCode == http.StatusOK {
		t.Error("site host serves uploaded files")
	}
}
