package csrf_test

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/reqstate"
	"github.com/bulwarkdev/bulwark/internal/reqstate/reqstatetest"

	"github.com/BurntSushi/toml"

	"github.com/bulwarkdev/bulwark/csrf"
)

// site is https://example.com behind a TLS-terminating proxy: the facts
// say https although the connection is plain, as trustedproxy would.
func siteRequest(method, target string, h map[string]string) *http.Request {
	r := httptest.NewRequest(method, target, nil)
	for k, v := range h {
		r.Header.Set(k, v)
	}
	return reqstatetest.With(r, reqstate.Conn{Scheme: "https", Host: "example.com", Port: "443"}, "example.com", true)
}

func mustNew(t testing.TB, c csrf.Config) *csrf.Protection {
	t.Helper()
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	p, err := csrf.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// counter is the protected state: a refused request must not change it.
type counter struct{ n atomic.Int64 }

func (c *counter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		c.n.Add(1)
	}
	io.WriteString(w, "ok")
}

func serve(h http.Handler, r *http.Request) *http.Response {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

func TestOriginLayer(t *testing.T) {
	tokenless := csrf.Config{InsecureSkipTokens: true}
	wild := csrf.Config{InsecureSkipTokens: true, TrustedOrigins: []string{"https://*.example.com", "https://partner.test:8443", "https://*.bücher.example"}}
	tests := []struct {
		name   string
		cfg    csrf.Config
		method string
		h      map[string]string
		want   int
	}{
		{"safe GET cross-site", tokenless, "GET", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.test"}, 200},
		{"safe HEAD cross-site", tokenless, "HEAD", map[string]string{"Sec-Fetch-Site": "cross-site"}, 200},
		{"safe OPTIONS cross-site", tokenless, "OPTIONS", map[string]string{"Sec-Fetch-Site": "cross-site"}, 200},
		{"safe TRACE cross-site", tokenless, "TRACE", map[string]string{"Sec-Fetch-Site": "cross-site"}, 200},
		{"same-origin", tokenless, "POST", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "https://example.com"}, 200},
		{"user navigation (none)", tokenless, "POST", map[string]string{"Sec-Fetch-Site": "none"}, 200},
		{"no browser headers (curl)", tokenless, "POST", nil, 200},
		{"same Origin without Sec-Fetch-Site", tokenless, "POST", map[string]string{"Origin": "https://example.com"}, 200},
		{"upper-case Origin", tokenless, "POST", map[string]string{"Origin": "HTTPS://EXAMPLE.COM"}, 200},
		{"default port spelled out", tokenless, "POST", map[string]string{"Origin": "https://example.com:443"}, 200},

		{"attack: cross-site form", tokenless, "POST", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.test"}, 403},
		{"attack: cross-site PUT", tokenless, "PUT", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.test"}, 403},
		{"attack: cross-site DELETE", tokenless, "DELETE", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.test"}, 403},
		{"attack: cross-site unknown method", tokenless, "PURGE", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"attack: cross-site without Origin", tokenless, "POST", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"attack: sibling subdomain (same-site)", tokenless, "POST", map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "https://evil.example.com"}, 403},
		{"attack: unknown Sec-Fetch-Site", tokenless, "POST", map[string]string{"Sec-Fetch-Site": "same-origin-ish", "Origin": "https://example.com"}, 403},
		{"attack: Origin null", tokenless, "POST", map[string]string{"Origin": "null"}, 403},
		{"attack: empty Origin", tokenless, "POST", map[string]string{"Origin": ""}, 403},
		{"attack: http Origin on https site", tokenless, "POST", map[string]string{"Origin": "http://example.com"}, 403},
		{"attack: look-alike suffix host", tokenless, "POST", map[string]string{"Origin": "https://example.com.evil.com"}, 403},
		{"attack: look-alike prefix host", tokenless, "POST", map[string]string{"Origin": "https://evilexample.com"}, 403},
		{"attack: other port", tokenless, "POST", map[string]string{"Origin": "https://example.com:8443"}, 403},
		{"attack: Origin with path", tokenless, "POST", map[string]string{"Origin": "https://example.com/"}, 403},
		{"attack: Origin with user info", tokenless, "POST", map[string]string{"Origin": "https://evil.test@example.com"}, 403},
		{"attack: Origin port out of range", tokenless, "POST", map[string]string{"Origin": "https://example.com:65979"}, 403},
		{"attack: upper-case look-alike", tokenless, "POST", map[string]string{"Origin": "HTTPS://EXAMPLE.COM.EVIL.COM"}, 403},
		{"attack: https port under http", tokenless, "POST", map[string]string{"Origin": "http://example.com:443"}, 403},
		{"attack: trailing-dot look-alike", tokenless, "POST", map[string]string{"Origin": "https://example.com.evil.com."}, 403},
		{"attack: missing Sec-Fetch-Site, bad Origin", tokenless, "POST", map[string]string{"Origin": "https://evil.test"}, 403},

		{"trusted wildcard subdomain", wild, "POST", map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "https://a.b.example.com"}, 200},
		{"trusted wildcard apex (Django)", wild, "POST", map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "https://example.com"}, 200},
		{"trusted exact with port", wild, "POST", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://partner.test:8443"}, 200},
		{"trusted IDNA wildcard", wild, "POST", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://shop.xn--bcher-kva.example"}, 200},
		{"attack: trusted wildcard, wrong scheme", wild, "POST", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "http://a.example.com"}, 403},
		{"attack: trusted wildcard, wrong port", wild, "POST", map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "https://a.example.com:8443"}, 403},
		{"attack: trusted wildcard, no dot boundary", wild, "POST", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://aexample.com"}, 403},
		{"attack: trusted wildcard look-alike", wild, "POST", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://example.com.evil.com"}, 403},
		{"attack: trusted exact, default port", wild, "POST", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://partner.test"}, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustNew(t, tt.cfg)
			c := &counter{}
			res := serve(p.Handler(c), siteRequest(tt.method, "/transfer", tt.h))
			if res.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", res.StatusCode, tt.want)
			}
			if tt.want == 403 && c.n.Load() != 0 {
				t.Fatal("refused request reached the application")
			}
			if err := p.Check(siteRequest(tt.method, "/transfer", tt.h)); (err == nil) != (tt.want == 200) {
				t.Fatalf("Check = %v, handler said %d", err, tt.want)
			} else if err != nil && !errors.Is(err, csrf.ErrCrossOrigin) {
				t.Fatalf("Check = %v, want ErrCrossOrigin", err)
			}
		})
	}
}

func TestOriginFacts(t *testing.T) {
	p := mustNew(t, csrf.Config{InsecureSkipTokens: true})
	tests := []struct {
		name   string
		req    func() *http.Request
		origin string
		want   int
	}{
		{"plain-HTTP dev host, no facts", func() *http.Request {
			r := httptest.NewRequest("POST", "http://localhost:8080/", nil)
			return r
		}, "http://localhost:8080", 200},
		{"attack: other loopback origin", func() *http.Request {
			return httptest.NewRequest("POST", "http://localhost:8080/", nil)
		}, "http://127.0.0.1:8080", 403},
		{"attack: https Origin on a plain-HTTP request", func() *http.Request {
			return httptest.NewRequest("POST", "http://localhost:8080/", nil)
		}, "https://localhost:8080", 403},
		{"IPv6 literal, equivalent spelling", func() *http.Request {
			return httptest.NewRequest("POST", "http://[::1]:8080/", nil)
		}, "http://[0:0::1]:8080", 200},
		{"behind a TLS-terminating proxy", func() *http.Request {
			r := httptest.NewRequest("POST", "http://app.internal/", nil)
			return reqstatetest.With(r, reqstate.Conn{Scheme: "https", Host: "shop.example"}, "shop.example", true)
		}, "https://shop.example", 200},
		{"attack: host refused by the hosts layer", func() *http.Request {
			r := httptest.NewRequest("POST", "http://evil.test/", nil)
			return reqstatetest.With(r, reqstate.Conn{Scheme: "http", Host: "evil.test"}, "", true)
		}, "http://evil.test", 403},
		{"raw host when the hosts layer did not run", func() *http.Request {
			r := httptest.NewRequest("POST", "http://x/", nil)
			return reqstatetest.With(r, reqstate.Conn{Scheme: "http", Host: "App.Example:8000"}, "", false)
		}, "http://app.example:8000", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.req()
			r.Header.Set("Origin", tt.origin)
			if res := serve(p.Handler(&counter{}), r); res.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", res.StatusCode, tt.want)
			}
		})
	}
}

func TestDuplicateOriginRefused(t *testing.T) {
	p := mustNew(t, csrf.Config{InsecureSkipTokens: true})
	r := siteRequest("POST", "/", nil)
	r.Header["Origin"] = []string{"https://example.com", "https://evil.test"}
	if err := p.Check(r); !errors.Is(err, csrf.ErrCrossOrigin) {
		t.Fatalf("Check = %v, want ErrCrossOrigin", err)
	}
}

func TestBypassPaths(t *testing.T) {
	p := mustNew(t, csrf.Config{InsecureSkipTokens: true, InsecureBypassPaths: []string{"/hooks/stripe", "/api/"}})
	cross := map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.test"}
	tests := []struct {
		target string
		want   int
	}{
		{"/hooks/stripe", 200},
		{"/hooks/stripe?x=1", 200},
		{"/api/", 200},
		{"/hooks/stripe/", 403},
		{"/Hooks/stripe", 403},
		{"/HOOKS/STRIPE", 403},
		{"/hooks//stripe", 403},
		{"//hooks/stripe", 403},
		{"/hooks/./stripe", 403},
		{"/x/../hooks/stripe", 403},
		{"/hooks/stripe/..", 403},
		{"/hooks/%73tripe", 403},
		{"/hooks%2Fstripe", 403},
		{"/hooks/stripe%00", 403},
		{"/hooks/stripe/extra", 403},
		{"/api", 403},
		{"/api/users", 403},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			c := &counter{}
			if res := serve(p.Handler(c), siteRequest("POST", tt.target, cross)); res.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", res.StatusCode, tt.want)
			}
		})
	}
}

func TestExemptHandler(t *testing.T) {
	p := mustNew(t, csrf.Config{InsecureSkipTokens: true})
	hook, app := &counter{}, &counter{}
	mux := http.NewServeMux()
	mux.Handle("POST /hooks/", csrf.Exempt(hook))
	mux.Handle("/", app)
	h := p.Handler(mux)
	cross := map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.test"}
	tests := []struct {
		target string
		want   int
	}{
		{"/hooks/", 200},
		{"/hooks/github", 200},
		// The mux would redirect these to /hooks/...: not exempt
		// (CVE-2025-47910).
		{"/hooks", 403},
		{"/x/../hooks/github", 403},
		{"//hooks/github", 403},
		{"/Hooks/github", 403},
		{"/other", 403},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			if res := serve(h, siteRequest("POST", tt.target, cross)); res.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", res.StatusCode, tt.want)
			}
		})
	}
	if app.n.Load() != 0 {
		t.Fatalf("application changed state %d times", app.n.Load())
	}
	// Exempt outside the Protection marks the request for it.
	outer := csrf.Exempt(p.Handler(app))
	if res := serve(outer, siteRequest("POST", "/", cross)); res.StatusCode != 200 {
		t.Fatalf("outer Exempt: status %d", res.StatusCode)
	}
}

func TestConfigValidate(t *testing.T) {
	bad := []csrf.Config{
		{TrustedOrigins: []string{"example.com"}},
		{TrustedOrigins: []string{"https://example.com/"}},
		{TrustedOrigins: []string{"https://example.com/path"}},
		{TrustedOrigins: []string{"https://user@example.com"}},
		{TrustedOrigins: []string{"https://*example.com"}},
		{TrustedOrigins: []string{"https://a.*.example.com"}},
		{TrustedOrigins: []string{"https://example.com:99999"}},
		{TrustedOrigins: []string{"https://*.[::1]"}},
		{TrustedOrigins: []string{"null"}},
		{InsecureBypassPaths: []string{"hooks"}},
		{InsecureBypassPaths: []string{"/a//b"}},
		{InsecureBypassPaths: []string{"/a/../b"}},
		{InsecureBypassPaths: []string{"/a/./b"}},
		{InsecureBypassPaths: []string{"/h%6Fok"}},
		{InsecureBypassPaths: []string{"/a b"}},
		{CookieName: "bad name"},
		{CookieName: "__Host-x", CookieDomain: "example.com"},
		{CookiePath: "relative"},
		{CookieDomain: "exa mple.com"},
		{CookieDomain: "example.com/path"},
		{CookieSameSite: "sometimes"},
		{HeaderName: "X CSRF"},
		{UseSessions: true},
		{Sessions: &testSessions{}},
		{MaxFormBytes: -1},
	}
	for _, c := range bad {
		if err := c.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", c)
		} else if !strings.HasPrefix(err.Error(), "csrf: ") {
			t.Errorf("error %q lacks the package prefix", err)
		}
	}
	good := []csrf.Config{
		{},
		{TrustedOrigins: []string{"https://*.example.com", "http://localhost:3000", "https://[::1]:8443", "https://bücher.example"}},
		{InsecureBypassPaths: []string{"/hooks/stripe", "/api/", "/a%20b"}},
		{CookieName: "__Host-csrf"},
		{CookieDomain: ".example.com", CookieSameSite: "Strict"},
		{UseSessions: true, Sessions: &testSessions{}},
	}
	for _, c := range good {
		if err := c.Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v", c, err)
		}
	}
}

// tokenClient plays a browser on https://example.com: it keeps the cookie
// jar and sends same-origin requests.
func getToken(t *testing.T, h http.Handler, r *http.Request) (cookie *http.Cookie, token string) {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	res := w.Result()
	token = w.Body.String()
	for _, c := range res.Cookies() {
		cookie = c
	}
	if cookie == nil {
		t.Fatalf("no cookie set: %q", res.Header.Values("Set-Cookie"))
	}
	return cookie, token
}

func tokenApp(c *counter) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			io.WriteString(w, csrf.Token(r))
			return
		}
		c.ServeHTTP(w, r)
	})
}

func TestTokenCookie(t *testing.T) {
	p := mustNew(t, csrf.Config{})
	c := &counter{}
	h := p.Handler(tokenApp(c))

	w := httptest.NewRecorder()
	h.ServeHTTP(w, siteRequest("GET", "/form", nil))
	res := w.Result()
	sc := res.Header.Get("Set-Cookie")
	// Django's Morsel spelling: "expires", lower case.
	for _, want := range []string{"__Host-csrftoken=", "Path=/", "Max-Age=31449600", "expires=", "Secure", "SameSite=Lax"} {
		if !strings.Contains(sc, want) {
			t.Errorf("Set-Cookie %q lacks %q", sc, want)
		}
	}
	if strings.Contains(sc, "Domain=") || strings.Contains(sc, "HttpOnly") {
		t.Errorf("Set-Cookie %q has Domain or HttpOnly", sc)
	}
	if res.Header.Get("Vary") != "Cookie" {
		t.Errorf("Vary = %q, want Cookie", res.Header.Get("Vary"))
	}
	cookie := res.Cookies()[0]
	token := w.Body.String()
	if len(token) != csrf.TokenLength || len(cookie.Value) != csrf.SecretLength {
		t.Fatalf("token %q, secret %q", token, cookie.Value)
	}
	if csrf.Unmask(token) != cookie.Value {
		t.Fatal("token does not unmask to the cookie's secret")
	}

	post := func(hdr map[string]string, cookieHeader string) int {
		r := siteRequest("POST", "/transfer", hdr)
		if cookieHeader != "" {
			r.Header.Set("Cookie", cookieHeader)
		}
		return serve(h, r).StatusCode
	}
	same := func(tok string) map[string]string {
		return map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "https://example.com", "X-CSRFToken": tok}
	}
	if got := post(same(token), "__Host-csrftoken="+cookie.Value); got != 200 {
		t.Fatalf("valid token: %d", got)
	}
	if got := post(same(cookie.Value), "__Host-csrftoken="+cookie.Value); got != 200 {
		t.Fatalf("bare secret as token (Django accepts it): %d", got)
	}
	before := c.n.Load()
	// Cookie tossing: a sibling subdomain planted an unprefixed cookie with
	// a token of its own. Over HTTPS only the __Host- cookie counts.
	if got := post(same(token), "csrftoken="+cookie.Value); got != 403 {
		t.Fatalf("unprefixed cookie over HTTPS: %d", got)
	}
	// ... and the request would come from the sibling's origin anyway.
	tossed := map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "https://evil.example.com", "X-CSRFToken": token}
	if got := post(tossed, "__Host-csrftoken="+cookie.Value); got != 403 {
		t.Fatalf("valid pair from a sibling origin: %d", got)
	}
	other := csrf.Mask("abcdefghijklmnopqrstuvwxyz012345")
	if got := post(same(other), "__Host-csrftoken="+cookie.Value); got != 403 {
		t.Fatalf("token for another secret: %d", got)
	}
	if got := post(same(token), ""); got != 403 {
		t.Fatalf("no cookie: %d", got)
	}
	if c.n.Load() != before {
		t.Fatal("a refused request changed state")
	}
}

func TestPlainHTTPCookie(t *testing.T) {
	p := mustNew(t, csrf.Config{})
	r := httptest.NewRequest("GET", "http://localhost:8000/", nil)
	cookie, _ := getToken(t, p.Handler(tokenApp(&counter{})), r)
	if cookie.Name != "csrftoken" || cookie.Secure {
		t.Fatalf("cookie %+v: want csrftoken, not Secure, on a plain-HTTP development host", cookie)
	}
	if p.CookieName(r) != "csrftoken" {
		t.Fatalf("CookieName = %q", p.CookieName(r))
	}
}

func TestNoCookieWithoutToken(t *testing.T) {
	p := mustNew(t, csrf.Config{})
	res := serve(p.Handler(&counter{}), siteRequest("GET", "/", nil))
	if sc := res.Header.Values("Set-Cookie"); len(sc) != 0 {
		t.Fatalf("Set-Cookie without Token: %q (pages must stay cacheable)", sc)
	}
}

func TestTokensDiffer(t *testing.T) {
	p := mustNew(t, csrf.Config{})
	var a, b string
	h := p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, b = csrf.Token(r), csrf.Token(r)
	}))
	serve(h, siteRequest("GET", "/", nil))
	if a == b || csrf.Unmask(a) != csrf.Unmask(b) {
		t.Fatalf("tokens %q and %q: want different masks of one secret", a, b)
	}
	if csrf.Token(httptest.NewRequest("GET", "/", nil)) != "" {
		t.Fatal("Token outside a Protection is not empty")
	}
}

func TestFormTokenKeepsBody(t *testing.T) {
	p := mustNew(t, csrf.Config{})
	var secret = "lcccccccX2kcccccccY2jcccccccssIC"
	tok := csrf.Mask(secret)
	var got url.Values
	var gotFile string
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseMultipartForm(1 << 20); err != nil && !errors.Is(err, http.ErrNotMultipart) {
			t.Errorf("application parse: %v", err)
		}
		got = r.PostForm
		if r.MultipartForm != nil {
			f, _, err := r.FormFile("upload")
			if err == nil {
				b, _ := io.ReadAll(f)
				gotFile = string(b)
			}
		}
	})
	h := p.Handler(app)
	same := map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "https://example.com", "Cookie": "__Host-csrftoken=" + secret}

	form := url.Values{csrf.FormField: {tok}, "amount": {"100"}}
	r := siteRequest("POST", "/", same)
	r.Body = io.NopCloser(strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if res := serve(h, r); res.StatusCode != 200 {
		t.Fatalf("urlencoded: status %d", res.StatusCode)
	}
	if got.Get("amount") != "100" || got.Get(csrf.FormField) != tok {
		t.Fatalf("application saw %v", got)
	}

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField(csrf.FormField, tok)
	fw, _ := mw.CreateFormFile("upload", "a.txt")
	fw.Write([]byte("file contents"))
	mw.WriteField("note", "after the file")
	mw.Close()
	r = siteRequest("POST", "/", same)
	r.Body = io.NopCloser(bytes.NewReader(body.Bytes()))
	r.Header.Set("Content-Type", mw.FormDataContentType())
	if res := serve(h, r); res.StatusCode != 200 {
		t.Fatalf("multipart: status %d", res.StatusCode)
	}
	if gotFile != "file contents" || got.Get("note") != "after the file" {
		t.Fatalf("application saw file %q, form %v", gotFile, got)
	}

	// A form larger than MaxFormBytes is not searched: the header must
	// carry the token, and the application still gets the whole body.
	small := mustNew(t, csrf.Config{MaxFormBytes: 64})
	form = url.Values{"padding": {strings.Repeat("x", 100)}, csrf.FormField: {tok}}
	r = siteRequest("POST", "/", same)
	r.Body = io.NopCloser(strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if res := serve(small.Handler(app), r); res.StatusCode != 403 {
		t.Fatalf("oversized form without header token: status %d", res.StatusCode)
	}
	r = siteRequest("POST", "/", same)
	r.Body = io.NopCloser(strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("X-CSRFToken", tok)
	if res := serve(small.Handler(app), r); res.StatusCode != 200 {
		t.Fatalf("oversized form with header token: status %d", res.StatusCode)
	}
	if got.Get("padding") != strings.Repeat("x", 100) {
		t.Fatal("application lost the body")
	}
}

func TestRotate(t *testing.T) {
	p := mustNew(t, csrf.Config{})
	c := &counter{}
	h := p.Handler(tokenApp(c))
	cookie, token := getToken(t, h, siteRequest("GET", "/", nil))
	var newCookie string
	login := p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := csrf.Rotate(r); err != nil {
			t.Error(err)
		}
	}))
	hdr := map[string]string{"Sec-Fetch-Site": "same-origin", "X-CSRFToken": token, "Cookie": "__Host-csrftoken=" + cookie.Value}
	res := serve(login, siteRequest("POST", "/login", hdr))
	if res.StatusCode != 200 {
		t.Fatalf("login: %d", res.StatusCode)
	}
	for _, c := range res.Cookies() {
		newCookie = c.Value
	}
	if newCookie == "" || newCookie == cookie.Value {
		t.Fatalf("Rotate did not send a new secret (%q)", newCookie)
	}
	hdr["Cookie"] = "__Host-csrftoken=" + newCookie
	if got := serve(h, siteRequest("POST", "/", hdr)).StatusCode; got != 403 {
		t.Fatalf("token from before the login: %d, want 403", got)
	}
	if err := csrf.Rotate(httptest.NewRequest("POST", "/", nil)); !errors.Is(err, csrf.ErrNotProtected) {
		t.Fatalf("Rotate outside a Protection = %v", err)
	}
}

func TestMalformedCookieReplacedAndLogged(t *testing.T) {
	logs := &logCapture{}
	p := mustNew(t, csrf.Config{Logger: slog.New(logs)})
	planted := strings.Repeat("x", 40)
	res := serve(p.Handler(&counter{}), siteRequest("GET", "/", map[string]string{"Cookie": "__Host-csrftoken=" + planted}))
	cs := res.Cookies()
	if len(cs) != 1 || len(cs[0].Value) != csrf.SecretLength {
		t.Fatalf("cookie not replaced: %q", res.Header.Values("Set-Cookie"))
	}
	ev := logs.find("csrf_cookie_replaced")
	if len(ev) != 1 || ev[0]["level"] != "INFO" || ev[0]["reason"] != "cookie_incorrect_length" || ev[0]["detail"] != `"CSRF cookie has incorrect length."` {
		t.Fatalf("events %v", logs.events)
	}
	for _, e := range logs.events {
		for _, v := range e {
			if strings.Contains(v, planted) || strings.Contains(v, cs[0].Value) {
				t.Fatalf("a secret reached the log: %v", e)
			}
		}
	}
}

func TestFailureHandlerAndLog(t *testing.T) {
	logs := &logCapture{}
	var reason string
	var sentinel error
	p := mustNew(t, csrf.Config{Logger: slog.New(logs), FailureHandler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reason = csrf.FailureReason(r)
		sentinel = csrf.FailureError(r).Err
		w.WriteHeader(http.StatusTeapot)
	})})
	r := siteRequest("POST", "/pay?card=4111", map[string]string{"Origin": "https://evil.test", "Cookie": "__Host-csrftoken=lcccccccX2kcccccccY2jcccccccssIC"})
	res := serve(p.Handler(&counter{}), r)
	if res.StatusCode != http.StatusTeapot {
		t.Fatalf("status %d", res.StatusCode)
	}
	want := "Origin checking failed - https://evil.test does not match any trusted origins."
	if reason != want || sentinel != csrf.ErrCrossOrigin {
		t.Fatalf("reason %q (%v), want %q", reason, sentinel, want)
	}
	ev := logs.find("csrf_failure")
	if len(ev) != 1 {
		t.Fatalf("events %v", logs.events)
	}
	for k, v := range map[string]string{"reason": "bad_origin", "detail": strconv.Quote(want), "method": "POST", "path": "/pay", "host": "example.com", "level": "INFO"} {
		if ev[0][k] != v {
			t.Errorf("event %s = %q, want %q", k, ev[0][k], v)
		}
	}
	for _, v := range ev[0] {
		if strings.Contains(v, "4111") || strings.Contains(v, "lccccccc") {
			t.Fatalf("query string or cookie logged: %v", ev[0])
		}
	}

	def := mustNew(t, csrf.Config{})
	res = serve(def.Handler(&counter{}), siteRequest("POST", "/", map[string]string{"Origin": "https://evil.test"}))
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 403 || string(body) != "Forbidden" {
		t.Fatalf("default failure: %d %q", res.StatusCode, body)
	}
}

type failingSessions struct{}

func (failingSessions) CSRFSecret(*http.Request) (string, error) {
	return "", errors.New("store down")
}
func (failingSessions) SetCSRFSecret(*http.Request, string) error { return errors.New("store down") }

func TestSessionStoreFailure(t *testing.T) {
	p := mustNew(t, csrf.Config{UseSessions: true, Sessions: failingSessions{}})
	c := &counter{}
	res := serve(p.Handler(c), siteRequest("POST", "/", map[string]string{"Sec-Fetch-Site": "same-origin", "X-CSRFToken": csrf.Mask("lcccccccX2kcccccccY2jcccccccssIC")}))
	if res.StatusCode != 503 || c.n.Load() != 0 {
		t.Fatalf("status %d, calls %d: want 503 and no call", res.StatusCode, c.n.Load())
	}
	// A safe request does not touch the store unless a token is asked for.
	if res := serve(p.Handler(c), siteRequest("GET", "/", nil)); res.StatusCode != 200 {
		t.Fatalf("GET: %d", res.StatusCode)
	}
}

func TestSessionMode(t *testing.T) {
	s := &testSessions{}
	p := mustNew(t, csrf.Config{UseSessions: true, Sessions: s})
	c := &counter{}
	h := p.Handler(tokenApp(c))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, siteRequest("GET", "/", nil))
	if len(w.Result().Cookies()) != 0 {
		t.Fatal("session mode sent a cookie")
	}
	if len(s.value) != csrf.SecretLength || csrf.Unmask(w.Body.String()) != s.value {
		t.Fatalf("session holds %q", s.value)
	}
	hdr := map[string]string{"Sec-Fetch-Site": "same-origin", "X-CSRFToken": w.Body.String()}
	if got := serve(h, siteRequest("POST", "/", hdr)).StatusCode; got != 200 {
		t.Fatalf("POST: %d", got)
	}
}

func TestRefererCheck(t *testing.T) {
	// Django's _check_referer (d.6) on https://www.example.com, for
	// browsers that send neither Origin nor Sec-Fetch-Site.
	tests := []struct {
		name    string
		cfg     csrf.Config
		port    string
		referer *string
		want    string
	}{
		{"no Referer", csrf.Config{}, "443", nil, "Referer checking failed - no Referer."},
		{"same host", csrf.Config{}, "443", ptr("https://www.example.com/somepage"), ""},
		{"same host, no path", csrf.Config{}, "443", ptr("https://www.example.com"), ""},
		{"empty", csrf.Config{}, "443", ptr(""), "Referer checking failed - Referer is malformed."},
		{"no scheme", csrf.Config{}, "443", ptr("//www.example.com/"), "Referer checking failed - Referer is malformed."},
		{"no host", csrf.Config{}, "443", ptr("https://"), "Referer checking failed - Referer is malformed."},
		{"unbalanced bracket", csrf.Config{}, "443", ptr("https://["), "Referer checking failed - Referer is malformed."},
		{"bracketed non-IPv6", csrf.Config{}, "443", ptr("https://[www.example.com]/"), "Referer checking failed - Referer is malformed."},
		{"not a URL", csrf.Config{}, "443", ptr("not a url"), "Referer checking failed - Referer is malformed."},
		{"attack: http Referer", csrf.Config{}, "443", ptr("http://www.example.com/"), "Referer checking failed - Referer is insecure while host is secure."},
		{"attack: double scheme", csrf.Config{}, "443", ptr("http://http://www.example.com/"), "Referer checking failed - Referer is insecure while host is secure."},
		{"attack: other site", csrf.Config{}, "443", ptr("https://www.evil.org/somepage"), "Referer checking failed - https://www.evil.org/somepage does not match any trusted origins."},
		{"attack: look-alike", csrf.Config{}, "443", ptr("https://www.example.com.evil.org/"), "Referer checking failed - https://www.example.com.evil.org/ does not match any trusted origins."},
		{"attack: sibling", csrf.Config{}, "443", ptr("https://evil.example.com/"), "Referer checking failed - https://evil.example.com/ does not match any trusted origins."},
		{"attack: other port", csrf.Config{}, "443", ptr("https://www.example.com:4443/"), "Referer checking failed - https://www.example.com:4443/ does not match any trusted origins."},
		{"scheme upper-cased in reason", csrf.Config{}, "443", ptr("HTTPS://evil.org/a?"), "Referer checking failed - https://evil.org/a does not match any trusted origins."},
		{"trusted origin", csrf.Config{TrustedOrigins: []string{"https://dashboard.example.com"}}, "443", ptr("https://dashboard.example.com/"), ""},
		{"trusted origin, scheme ignored (Django)", csrf.Config{TrustedOrigins: []string{"http://dashboard.example.com"}}, "443", ptr("https://dashboard.example.com/"), ""},
		{"trusted wildcard", csrf.Config{TrustedOrigins: []string{"https://*.example.com"}}, "443", ptr("https://foo.example.com/"), ""},
		{"cookie domain", csrf.Config{CookieDomain: ".example.com"}, "443", ptr("https://foo.example.com/"), ""},
		{"cookie domain, other port", csrf.Config{CookieDomain: ".example.com"}, "4443", ptr("https://foo.example.com:4443/"), ""},
		{"attack: cookie domain, port missing", csrf.Config{CookieDomain: ".example.com"}, "4443", ptr("https://foo.example.com/"), "Referer checking failed - https://foo.example.com/ does not match any trusted origins."},
		{"attack: cookie domain, other site", csrf.Config{CookieDomain: ".example.com"}, "443", ptr("https://www.evil.org/"), "Referer checking failed - https://www.evil.org/ does not match any trusted origins."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustNew(t, tt.cfg)
			r := httptest.NewRequest("POST", "/", nil)
			if tt.referer != nil {
				r.Header["Referer"] = []string{*tt.referer}
			}
			r = reqstatetest.With(r, reqstate.Conn{Scheme: "https", Host: "www.example.com", Port: tt.port}, "www.example.com", true)
			if got := csrf.CheckReferer(p, r); got != tt.want {
				t.Fatalf("reason %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRefererInFlow(t *testing.T) {
	p := mustNew(t, csrf.Config{})
	secret := "lcccccccX2kcccccccY2jcccccccssIC"
	base := map[string]string{"Cookie": "__Host-csrftoken=" + secret, "X-CSRFToken": csrf.Mask(secret)}
	// An old browser over HTTPS: no Origin, no Sec-Fetch-Site.
	if got := serve(p.Handler(&counter{}), siteRequest("POST", "/", base)).StatusCode; got != 403 {
		t.Fatalf("no Referer: %d", got)
	}
	base["Referer"] = "https://example.com/form"
	if got := serve(p.Handler(&counter{}), siteRequest("POST", "/", base)).StatusCode; got != 200 {
		t.Fatalf("same-origin Referer: %d", got)
	}
	base["Referer"] = "https://evil.test/"
	if got := serve(p.Handler(&counter{}), siteRequest("POST", "/", base)).StatusCode; got != 403 {
		t.Fatalf("cross-site Referer: %d", got)
	}
	// A browser that sent Sec-Fetch-Site has said more than a Referer can.
	delete(base, "Referer")
	base["Sec-Fetch-Site"] = "same-origin"
	if got := serve(p.Handler(&counter{}), siteRequest("POST", "/", base)).StatusCode; got != 200 {
		t.Fatalf("Sec-Fetch-Site without Referer: %d", got)
	}
}

// TestRefererLoggedWithoutQuery pins that a refused Referer's query and
// fragment, which may carry another site's secrets (a reset token, an
// OAuth code), reach the failure handler as Django's reason but never the
// log.
func TestRefererLoggedWithoutQuery(t *testing.T) {
	tests := []struct {
		name, referer, reason, logged string
	}{
		{"no query", "https://evil.test/page",
			"Referer checking failed - https://evil.test/page does not match any trusted origins.",
			"Referer checking failed - https://evil.test/page does not match any trusted origins."},
		{"attack: query with a token", "https://idp.test/cb?code=s3cr3t",
			"Referer checking failed - https://idp.test/cb?code=s3cr3t does not match any trusted origins.",
			"Referer checking failed - https://idp.test/cb?… does not match any trusted origins."},
		{"attack: fragment", "https://evil.test/#s3cr3t",
			"Referer checking failed - https://evil.test/#s3cr3t does not match any trusted origins.",
			"Referer checking failed - https://evil.test/#… does not match any trusted origins."},
		{"attack: query and fragment", "https://evil.test/a?s3cr3t=1#s3cr3t",
			"Referer checking failed - https://evil.test/a?s3cr3t=1#s3cr3t does not match any trusted origins.",
			"Referer checking failed - https://evil.test/a?…#… does not match any trusted origins."},
		{"empty query dropped, as geturl does", "https://evil.test/a?",
			"Referer checking failed - https://evil.test/a does not match any trusted origins.",
			"Referer checking failed - https://evil.test/a does not match any trusted origins."},
	}
	secret := "lcccccccX2kcccccccY2jcccccccssIC"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := &logCapture{}
			var reason string
			p := mustNew(t, csrf.Config{Logger: slog.New(logs), FailureHandler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				reason = csrf.FailureReason(r)
				w.WriteHeader(http.StatusForbidden)
			})})
			hdr := map[string]string{"Cookie": "__Host-csrftoken=" + secret, "X-CSRFToken": csrf.Mask(secret), "Referer": tt.referer}
			c := &counter{}
			if got := serve(p.Handler(c), siteRequest("POST", "/", hdr)).StatusCode; got != 403 || c.n.Load() != 0 {
				t.Fatalf("status %d, calls %d: want 403 and no call", got, c.n.Load())
			}
			if reason != tt.reason {
				t.Errorf("failure reason %q, want %q", reason, tt.reason)
			}
			ev := logs.find("csrf_failure")
			if len(ev) != 1 || ev[0]["reason"] != "bad_referer" || ev[0]["detail"] != strconv.Quote(tt.logged) {
				t.Fatalf("events %v, want one with detail %q", ev, tt.logged)
			}
			for k, v := range ev[0] {
				if strings.Contains(v, "s3cr3t") {
					t.Fatalf("event %s logs the Referer's query or fragment: %q", k, v)
				}
			}
		})
	}
}

func ptr(s string) *string { return &s }

func TestConfigTOML(t *testing.T) {
	var c csrf.Config
	_, err := toml.Decode(`
trusted_origins = ["https://*.example.com"]
insecure_bypass_paths = ["/hooks/stripe"]
cookie_name = "csrf"
cookie_max_age = "8736h"
cookie_same_site = "strict"
header_name = "X-CSRF-Token"
max_form_bytes = 1048576
`, &c)
	if err != nil {
		t.Fatal(err)
	}
	if c.CookieMaxAge != csrf.DefaultCookieMaxAge || c.CookieName != "csrf" || len(c.TrustedOrigins) != 1 || c.MaxFormBytes != 1<<20 {
		t.Fatalf("decoded %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

// Cookie tossing: a sibling subdomain (or a network attacker writing
// through http://sub.example.com) plants a cookie with a secret it knows
// and submits a matching token. Even with the prefix switched off, so the
// planted cookie is read, the request comes from the sibling's origin and
// the Origin layer refuses it.
func TestCookieTossing(t *testing.T) {
	p := mustNew(t, csrf.Config{InsecureUnprefixedCookie: true})
	c := &counter{}
	h := p.Handler(c)
	planted := map[string]string{"Cookie": "csrftoken=" + testSecret, "X-CSRFToken": csrf.Mask(testSecret)}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range planted {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	// The pair is valid: from our own origin it would pass.
	if got := serve(h, siteRequest("POST", "/", with(map[string]string{"Sec-Fetch-Site": "same-origin"}))).StatusCode; got != 200 {
		t.Fatalf("control: %d", got)
	}
	for name, hdr := range map[string]map[string]string{
		"current browser":   {"Sec-Fetch-Site": "same-site", "Origin": "https://evil.example.com"},
		"no Fetch Metadata": {"Origin": "https://evil.example.com"},
		"http sibling":      {"Sec-Fetch-Site": "same-site", "Origin": "http://evil.example.com"},
	} {
		r := siteRequest("POST", "/", with(hdr))
		if got := serve(h, r).StatusCode; got != 403 {
			t.Errorf("%s: %d, want 403", name, got)
		}
		if err := p.Check(siteRequest("POST", "/", with(hdr))); !errors.Is(err, csrf.ErrCrossOrigin) {
			t.Errorf("%s: Check = %v, want ErrCrossOrigin", name, err)
		}
	}
	if c.n.Load() != 1 {
		t.Fatalf("%d state changes, want only the control", c.n.Load())
	}
}

// TestDevelopmentPage: with Development and no FailureHandler the 403 page
// states the reason, escaped and bounded; without it, only the status text.
func TestDevelopmentPage(t *testing.T) {
	long := "https://" + strings.Repeat("a", 3000) + ".example"
	for _, tt := range []struct {
		name        string
		development bool
		origin      string
		want        []string
		notWant     []string
	}{
		{"off", false, "https://evil.test", []string{"Forbidden"}, []string{"Origin checking failed"}},
		{"on", true, "https://evil.test", []string{"Reason given for failure:", "Origin checking failed - https://evil.test does not match any trusted origins."}, nil},
		{"attack: markup in the Origin is escaped", true, "https://<script>x</script>", []string{"https://&lt;script&gt;x&lt;/script&gt;"}, []string{"<script>x"}},
		{"attack: a long Origin is cut", true, long, []string{"Origin checking failed - https://aaa"}, []string{".example does not match"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := mustNew(t, csrf.Config{Development: tt.development, Logger: slog.New(slog.DiscardHandler)})
			res := serve(p.Handler(&counter{}), siteRequest("POST", "/", map[string]string{"Origin": tt.origin}))
			b, _ := io.ReadAll(res.Body)
			body := string(b)
			if res.StatusCode != 403 {
				t.Fatalf("status %d", res.StatusCode)
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("body lacks %q:\n%s", w, body)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(body, w) {
					t.Errorf("body has %q:\n%s", w, body)
				}
			}
			if len(body) > 2048 {
				t.Errorf("body of %d bytes", len(body))
			}
		})
	}
}

// TestRefererWithoutTokens: with the token layer off, RefererWithoutTokens
// applies Django's HTTPS Referer rule to requests that carry neither
// Origin nor Sec-Fetch-Site, and only to them.
func TestRefererWithoutTokens(t *testing.T) {
	strict := csrf.Config{InsecureSkipTokens: true, RefererWithoutTokens: true, TrustedOrigins: []string{"https://partner.test"}}
	loose := csrf.Config{InsecureSkipTokens: true}
	for _, tc := range []struct {
		name   string
		cfg    csrf.Config
		https  bool
		hdr    map[string]string
		want   int
		reason string // a prefix of the failure reason
	}{
		{"same-origin referer", strict, true, map[string]string{"Referer": "https://example.com/form"}, 200, ""},
		{"trusted origin's referer", strict, true, map[string]string{"Referer": "https://partner.test/x"}, 200, ""},
		{"attack: cross-origin referer", strict, true, map[string]string{"Referer": "https://evil.test/"}, 403, "Referer checking failed - https://evil.test/ does not match"},
		{"attack: no referer", strict, true, nil, 403, "Referer checking failed - no Referer."},
		{"attack: malformed referer", strict, true, map[string]string{"Referer": "not a url"}, 403, "Referer checking failed - Referer is malformed."},
		{"attack: insecure referer", strict, true, map[string]string{"Referer": "http://example.com/form"}, 403, "Referer checking failed - Referer is insecure"},
		{"attack: subdomain referer", strict, true, map[string]string{"Referer": "https://a.example.com/"}, 403, "Referer checking failed - https://a.example.com/"},
		{"sec-fetch-site speaks first", strict, true, map[string]string{"Sec-Fetch-Site": "same-origin", "Referer": "https://evil.test/"}, 200, ""},
		{"origin speaks first", strict, true, map[string]string{"Origin": "https://example.com"}, 200, ""},
		{"attack: cross-site origin still refused", strict, true, map[string]string{"Origin": "https://evil.test", "Referer": "https://example.com/"}, 403, "Origin checking failed"},
		{"plain http is not checked", strict, false, map[string]string{"Referer": "https://evil.test/"}, 200, ""},
		{"zero value: no signal passes", loose, true, map[string]string{"Referer": "https://evil.test/"}, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var reason string
			cfg := tc.cfg
			cfg.FailureHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				reason = csrf.FailureReason(r)
				w.WriteHeader(http.StatusForbidden)
			})
			p := mustNew(t, cfg)
			r := siteRequest("POST", "/form", tc.hdr)
			if !tc.https {
				r = httptest.NewRequest("POST", "/form", nil)
				for k, v := range tc.hdr {
					r.Header.Set(k, v)
				}
				r = reqstatetest.With(r, reqstate.Conn{Scheme: "http", Host: "example.com", Port: "80"}, "example.com", true)
			}
			c := &counter{}
			if got := serve(p.Handler(c), r).StatusCode; got != tc.want {
				t.Fatalf("status %d, want %d (reason %q)", got, tc.want, reason)
			}
			if tc.want == 403 {
				if c.n.Load() != 0 {
					t.Fatal("refused request reached the handler")
				}
				if !strings.HasPrefix(reason, tc.reason) {
					t.Errorf("reason %q, want prefix %q", reason, tc.reason)
				}
			}
			// Check agrees with the handler.
			if err := p.Check(r); (err == nil) != (tc.want == 200) {
				t.Errorf("Check = %v, handler said %d", err, tc.want)
			}
		})
	}
}
