package bulwark_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/bulwarkdev/bulwark"
	"github.com/bulwarkdev/bulwark/csrf"
)

// A plain-HTTP request with a forged Host header is refused before the
// redirect could send the victim to the attacker's site; a forged
// X-Forwarded-Proto from a client that is not a trusted proxy does not
// skip the redirect.
func Example() {
	cfg, err := bulwark.ParseConfig([]byte(`
[proxy]
trusted = ["10.0.0.0/8"]
ssl_header = "X-Forwarded-Proto"
ssl_header_value = "https"

[hosts]
allowed = ["example.com"]
`))
	if err != nil {
		panic(err)
	}
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	b, err := bulwark.New(cfg)
	if err != nil {
		panic(err)
	}
	h := b.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "secret page")
	}))

	for _, req := range []*http.Request{
		httptest.NewRequest("GET", "http://evil.com/reset", nil),
		httptest.NewRequest("GET", "http://example.com/reset", nil),
	} {
		req.Header.Set("X-Forwarded-Proto", "https") // from 192.0.2.1: ignored
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		fmt.Println(w.Code, w.Header().Get("Location"), w.Header().Get("X-Frame-Options"))
	}
	// Output:
	// 400  DENY
	// 301 https://example.com/reset DENY
}

// Configuration files are strict: a misspelt key is an error, not a
// silently ignored line.
func ExampleParseConfig() {
	_, err := bulwark.ParseConfig([]byte(`
[https]
hsts_include_subdomain = true
`))
	fmt.Println(err)
	// Output:
	// bulwark: line 3: unknown key "https.hsts_include_subdomain"
}

// The whole chain in front of a form: the page carries a CSRF token; a
// page on another site that makes the victim's browser submit the form
// (the browser attaches the victim's cookies) is refused before the
// application runs; the site's own submission goes through.
func Example_crossSitePOST() {
	cfg, err := bulwark.ParseConfig([]byte(`
[hosts]
allowed = ["example.com"]
`))
	if err != nil {
		panic(err)
	}
	cfg.Logger = slog.New(slog.DiscardHandler)
	b, err := bulwark.New(cfg)
	if err != nil {
		panic(err)
	}
	h := b.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			io.WriteString(w, "transferred")
			return
		}
		io.WriteString(w, csrf.Token(r)) // a template would use csrf.TemplateField
	}))

	// The site's page: a token, and the secret in a cookie.
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "https://example.com/transfer", nil))
	token, cookie := w.Body.String(), w.Result().Cookies()[0]
	fmt.Println("GET", w.Code, cookie.Name)

	post := func(site string) {
		r := httptest.NewRequest("POST", "https://example.com/transfer", strings.NewReader("to=mallory&csrfmiddlewaretoken="+token))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Sec-Fetch-Site", site) // what the browser says
		r.AddCookie(cookie)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(site, "POST", w.Code, strings.TrimSpace(w.Body.String()), w.Header().Get("X-Frame-Options"))
	}
	post("cross-site")
	post("same-origin")
	// Output:
	// GET 200 __Host-csrftoken
	// cross-site POST 403 Forbidden DENY
	// same-origin POST 200 transferred DENY
}
