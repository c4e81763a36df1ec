package bulwark_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"

	"github.com/bulwarkdev/bulwark"
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
