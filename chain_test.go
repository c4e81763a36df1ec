package bulwark_test

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/bulwarkdev/bulwark"
	"github.com/bulwarkdev/bulwark/csrf"
	"github.com/bulwarkdev/bulwark/hosts"
	"github.com/bulwarkdev/bulwark/internal/uploadcorpus"
	"github.com/bulwarkdev/bulwark/limits"
	"github.com/bulwarkdev/bulwark/media"
	"github.com/bulwarkdev/bulwark/session"
	"github.com/bulwarkdev/bulwark/session/memstore"
	"github.com/bulwarkdev/bulwark/upload"
)

const mediaHost = "media.example-usercontent.net"

// fullConfig is every section on: the site example.com served directly
// over TLS, sessions in memory, uploads on /upload/, a media host, and a
// 64 KiB body cap.
func fullConfig(t *testing.T) bulwark.Config {
	t.Helper()
	store, err := memstore.New(memstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	if err := os.MkdirAll(filepath.Join(dir, "ab"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ab", "cat.png"), uploadcorpus.PNG(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := media.WriteSidecar(root, "ab/cat.png", media.Meta{Type: "image/png", Filename: "cat.png"}, 0o644); err != nil {
		t.Fatal(err)
	}
	c := bulwark.Config{Logger: quiet, Hosts: hosts.Config{Allowed: []string{"example.com"}}}
	c.Limits.MaxBodyBytes = 64 << 10
	c.Session.Store = store
	c.Uploads.Paths = []string{"/upload/"}
	c.Media.Hosts = []string{mediaHost}
	c.Media.Dir = dir
	return c
}

// site is the application behind the chain.
type site struct {
	transfers atomic.Int64
}

func (s *site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/login":
		if r.Method == http.MethodGet {
			// An anonymous session exists before the login, as on any
			// site that keeps a cart or a preference.
			if err := session.Put(r, "visited", true); err != nil {
				http.Error(w, "session", 500)
				return
			}
			fmt.Fprintf(w, `<form method="post">%s<input name="user"></form>`, csrf.TemplateField(r))
			return
		}
		_, form, err := limits.ParseForm(r, nil)
		if err != nil {
			limits.WriteError(w, r, err)
			return
		}
		// Django's login(): a new session id, then a new CSRF secret.
		if err := session.Renew(r); err != nil {
			http.Error(w, "renew", 500)
			return
		}
		if err := session.Put(r, "user", form.Get("user")); err != nil {
			http.Error(w, "put", 500)
			return
		}
		if err := csrf.Rotate(r); err != nil {
			http.Error(w, "rotate", 500)
			return
		}
		io.WriteString(w, csrf.Token(r))
	case "/me":
		user, _ := session.Get[string](r, "user")
		io.WriteString(w, "user="+user)
	case "/transfer":
		if _, _, err := limits.ParseForm(r, nil); err != nil {
			limits.WriteError(w, r, err)
			return
		}
		s.transfers.Add(1)
		io.WriteString(w, "done")
	case "/upload/avatar":
		form, ok := upload.FormFrom(r)
		if !ok || len(form.File["avatar"]) != 1 {
			http.Error(w, "no form", 500)
			return
		}
		io.WriteString(w, "stored "+form.File["avatar"][0].Verdict.Type)
	default:
		io.WriteString(w, "app "+r.URL.Path)
	}
}

type client struct {
	t       *testing.T
	srv     *httptest.Server
	c       *http.Client
	cookies map[string]string
}

type reqOpt struct {
	host    string
	header  map[string]string
	body    io.Reader
	ctype   string
	length  int64             // -1: chunked
	badHost bool              // a host the chain refuses
	cookies map[string]string // instead of the jar
}

// do sends one request and records the cookies the response sets.
func (c *client) do(method, target string, o reqOpt) (*http.Response, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.srv.URL+target, o.body)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Host = "example.com"
	if o.host != "" {
		req.Host = o.host
	}
	if o.ctype != "" {
		req.Header.Set("Content-Type", o.ctype)
	}
	if o.length != 0 {
		req.ContentLength = o.length
	}
	for k, v := range o.header {
		req.Header.Set(k, v)
	}
	jar := c.cookies
	if o.cookies != nil {
		jar = o.cookies
	}
	for k, v := range jar {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	resp, err := c.c.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, ck := range resp.Cookies() {
		if ck.MaxAge < 0 {
			delete(jar, ck.Name)
		} else {
			jar[ck.Name] = ck.Value
		}
	}
	// Every response, refusals included, carries the security headers;
	// HSTS comes with every response for a valid host (the hosts layer
	// refuses the others before the HTTPS layer).
	want := map[string]string{
		"X-Content-Type-Options": "nosniff",
		"X-Frame-Options":        "DENY",
		"Referrer-Policy":        "same-origin",
	}
	if !o.badHost {
		want["Strict-Transport-Security"] = "max-age=31536000"
	}
	for k, want := range want {
		if got := resp.Header.Get(k); got != want {
			c.t.Errorf("%s %s (host %s): %d, %s = %q, want %q", method, target, req.Host, resp.StatusCode, k, got, want)
		}
	}
	return resp, string(body)
}

func setCookie(t *testing.T, resp *http.Response, name string) *http.Cookie {
	t.Helper()
	for _, line := range resp.Header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			t.Fatalf("Set-Cookie %q: %v", line, err)
		}
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no %s cookie in %q", name, resp.Header.Values("Set-Cookie"))
	return nil
}

var tokenRE = regexp.MustCompile(`name="csrfmiddlewaretoken" value="([A-Za-z0-9]{64})"`)

// TestLibraryChain runs the whole library chain, every section on, over a
// real TLS server.
func TestLibraryChain(t *testing.T) {
	b, err := bulwark.New(fullConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	app := &site{}
	srv := httptest.NewTLSServer(b.Handler(app))
	defer srv.Close()
	cl := &client{t: t, srv: srv, c: srv.Client(), cookies: map[string]string{}}
	sameOrigin := map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "https://example.com"}
	form := func(v url.Values) reqOpt {
		return reqOpt{header: sameOrigin, body: strings.NewReader(v.Encode()), ctype: "application/x-www-form-urlencoded"}
	}

	// The sign-in form: a token, the CSRF cookie and an anonymous session.
	resp, body := cl.do("GET", "/login", reqOpt{})
	m := tokenRE.FindStringSubmatch(body)
	if resp.StatusCode != 200 || m == nil {
		t.Fatalf("GET /login: %d %q", resp.StatusCode, body)
	}
	loginToken := m[1]
	ck := setCookie(t, resp, "__Host-csrftoken")
	if !ck.Secure || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Domain != "" {
		t.Errorf("CSRF cookie %+v: want __Host-, Secure, SameSite=Lax, Path=/", ck)
	}
	anonSession := setCookie(t, resp, "__Host-session").Value
	csrfBefore := cl.cookies["__Host-csrftoken"]

	// Signing in: the session id and the CSRF secret both change.
	resp, body = cl.do("POST", "/login", form(url.Values{"csrfmiddlewaretoken": {loginToken}, "user": {"alice"}}))
	if resp.StatusCode != 200 {
		t.Fatalf("POST /login: %d %q", resp.StatusCode, body)
	}
	freshToken := body
	sc := setCookie(t, resp, "__Host-session")
	if !sc.Secure || !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode || sc.Path != "/" || sc.Domain != "" {
		t.Errorf("session cookie %q: want __Host-, Secure, HttpOnly, SameSite=Lax, Path=/", resp.Header.Values("Set-Cookie"))
	}
	if sc.Value == anonSession {
		t.Error("session id kept across the login (fixation)")
	}
	if cl.cookies["__Host-csrftoken"] == csrfBefore || cl.cookies["__Host-csrftoken"] == "" {
		t.Error("CSRF secret not rotated at login")
	}
	if _, body = cl.do("GET", "/me", reqOpt{}); body != "user=alice" {
		t.Fatalf("after login: %q", body)
	}
	// The pre-login session id no longer opens anything.
	old := map[string]string{"__Host-session": anonSession}
	if _, body = cl.do("GET", "/me", reqOpt{cookies: old}); body != "user=" {
		t.Errorf("old session id still valid: %q", body)
	}
	if _, ok := old["__Host-session"]; ok {
		t.Error("the unknown session cookie was not deleted")
	}

	// A token issued before the rotation is refused; the fresh one works.
	if resp, _ = cl.do("POST", "/transfer", form(url.Values{"csrfmiddlewaretoken": {loginToken}})); resp.StatusCode != 403 {
		t.Errorf("pre-login token: %d, want 403", resp.StatusCode)
	}
	if resp, body = cl.do("POST", "/transfer", form(url.Values{"csrfmiddlewaretoken": {freshToken}})); resp.StatusCode != 200 || body != "done" {
		t.Fatalf("transfer with the fresh token: %d %q", resp.StatusCode, body)
	}
	if app.transfers.Load() != 1 {
		t.Fatalf("%d transfers", app.transfers.Load())
	}

	tokenHeader := map[string]string{"Sec-Fetch-Site": "same-origin", "X-CSRFToken": freshToken}
	tooManyFields := strings.Repeat("a=1&", 1000) + "a=1"
	png := uploadcorpus.PNG()
	polyglot := uploadcorpus.PNGChunk(png, "tEXt", []byte("c\x00<html><script>alert(document.cookie)</script></html>"))
	tests := []struct {
		name   string
		method string
		target string
		o      reqOpt
		status int
		body   string
	}{
		{"attack: cross-site form POST with the victim's cookies and a valid token", "POST", "/transfer",
			reqOpt{header: map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, body: strings.NewReader("csrfmiddlewaretoken=" + freshToken), ctype: "application/x-www-form-urlencoded"}, 403, "Forbidden"},
		{"attack: cross-origin POST from an old browser (Origin only)", "POST", "/transfer",
			reqOpt{header: map[string]string{"Origin": "https://evil.example", "X-CSRFToken": freshToken}}, 403, "Forbidden"},
		{"attack: POST without a token", "POST", "/transfer", reqOpt{header: sameOrigin}, 403, "Forbidden"},
		{"attack: declared body over the cap", "POST", "/transfer",
			reqOpt{header: tokenHeader, body: bytes.NewReader(make([]byte, 100<<10)), ctype: "application/octet-stream"}, 413, "Request Entity Too Large"},
		{"attack: chunked body over the cap", "POST", "/transfer",
			reqOpt{header: tokenHeader, body: io.MultiReader(strings.NewReader("a="), bytes.NewReader(bytes.Repeat([]byte("x"), 100<<10))), ctype: "application/x-www-form-urlencoded", length: -1}, 413, "Request Entity Too Large"},
		{"attack: too many query fields", "GET", "/?" + tooManyFields, reqOpt{}, 400, "Bad Request"},
		{"attack: too many form fields", "POST", "/transfer",
			reqOpt{header: tokenHeader, body: strings.NewReader(tooManyFields), ctype: "application/x-www-form-urlencoded"}, 400, "Bad Request"},
		{"upload: a PNG is accepted", "POST", "/upload/avatar", multipartOpt(tokenHeader, "cat.png", png), 200, "stored image/png"},
		{"attack: PNG+HTML polyglot refused", "POST", "/upload/avatar", multipartOpt(tokenHeader, "cat.png", polyglot), 415, "Unsupported Media Type"},
		{"attack: cross-site upload refused before parsing", "POST", "/upload/avatar",
			multipartOpt(map[string]string{"Sec-Fetch-Site": "cross-site"}, "cat.png", polyglot), 403, "Forbidden"},
		{"media host serves the file", "GET", "/ab/cat.png", reqOpt{host: mediaHost}, 200, string(png)},
		{"media host with a port and upper case", "GET", "/ab/cat.png", reqOpt{host: "MEDIA.example-usercontent.net:443"}, 200, string(png)},
		{"site host: the same path is the application's", "GET", "/ab/cat.png", reqOpt{}, 200, "app /ab/cat.png"},
		{"attack: media host does not reach the application", "GET", "/me", reqOpt{host: mediaHost}, 404, "Not Found"},
		{"attack: POST to the media host", "POST", "/ab/cat.png", reqOpt{host: mediaHost, header: sameOrigin}, 405, "Method Not Allowed"},
		{"attack: disallowed host", "GET", "/me", reqOpt{host: "evil.example", badHost: true}, 400, "Bad Request"},
		{"attack: media host's sibling is not the media host", "GET", "/ab/cat.png", reqOpt{host: "x." + mediaHost, badHost: true}, 400, "Bad Request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl.t = t
			before := app.transfers.Load()
			resp, body := cl.do(tt.method, tt.target, tt.o)
			if resp.StatusCode != tt.status || strings.TrimSpace(body) != tt.body {
				t.Fatalf("%d %.80q, want %d %.80q", resp.StatusCode, body, tt.status, tt.body)
			}
			if tt.status >= 400 && app.transfers.Load() != before {
				t.Error("a refused request changed state")
			}
			if tt.o.host == mediaHost && tt.status == 200 {
				for k, want := range map[string]string{
					"Content-Type":                 "image/png",
					"Content-Security-Policy":      "default-src 'none'; sandbox",
					"Cross-Origin-Resource-Policy": "cross-origin",
					"Content-Disposition":          `inline; filename="cat.png"`,
				} {
					if got := resp.Header.Get(k); got != want {
						t.Errorf("media %s = %q, want %q", k, got, want)
					}
				}
				if resp.Header.Get("Set-Cookie") != "" {
					t.Error("the media host sets cookies")
				}
			}
			if tt.o.host == "" && resp.Header.Get("Cross-Origin-Resource-Policy") != "" {
				t.Error("site response has the media headers")
			}
		})
	}
	cl.t = t
	if app.transfers.Load() != 1 {
		t.Errorf("%d transfers, want the one accepted", app.transfers.Load())
	}
	// The session survived every refusal.
	if _, body = cl.do("GET", "/me", reqOpt{}); body != "user=alice" {
		t.Errorf("after the attacks: %q", body)
	}
}

func multipartOpt(hdr map[string]string, name string, content []byte) reqOpt {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("avatar", name)
	fw.Write(content)
	mw.Close()
	return reqOpt{header: hdr, body: &buf, ctype: mw.FormDataContentType()}
}

// TestAllocsFullChain pins the allocations of the full chain (every
// section on) for a plain GET that does not read the session.
func TestAllocsFullChain(t *testing.T) {
	b, err := bulwark.New(fullConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	h := b.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r := httptest.NewRequest("GET", "https://example.com/page", nil)
	r.TLS = &tls.ConnectionState{}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 200 {
		t.Fatalf("status %d", w.Code)
	}
	got := testing.AllocsPerRun(200, func() {
		clear(w.Header())
		h.ServeHTTP(w, r)
	})
	// The record: 2 (its context node, the request copy); headers: 1
	// (the value slices); session: 1 (its state); csrf: 1 (its state).
	// The client facts, the validated host, httpsonly's HSTS value and
	// the state of limits, session and csrf live in the record: no
	// context value or request copy of their own.
	const want = 5
	if got > want {
		t.Errorf("full chain GET: %v allocs, want ≤ %d", got, want)
	}
	t.Logf("full chain GET: %v allocs", got)
}
