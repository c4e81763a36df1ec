package httpsonly_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"

	"github.com/bulwarkdev/bulwark/hosts"
	"github.com/bulwarkdev/bulwark/httpsonly"
)

// An attacker sends a plain-HTTP request with its own Host header, hoping
// the redirect will send the victim to https://evil.com. The hosts layer did
// not validate that host, so the request is refused instead.
func Example_unvalidatedHost() {
	p, err := httpsonly.New(httpsonly.Config{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		panic(err)
	}
	h := p.Handler(http.NotFoundHandler())

	r := httptest.NewRequest("GET", "http://evil.com/login", nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Println(w.Code, w.Header().Get("Location") == "")

	// Behind package hosts, which validates example.com.
	v, err := hosts.New(hosts.Config{Allowed: []string{"example.com"}})
	if err != nil {
		panic(err)
	}
	r = httptest.NewRequest("GET", "http://example.com//evil.com", nil)
	w = httptest.NewRecorder()
	v.Handler(h).ServeHTTP(w, r)
	fmt.Println(w.Code, w.Header().Get("Location"))
	// Output:
	// 400 true
	// 301 https://example.com//evil.com
}
