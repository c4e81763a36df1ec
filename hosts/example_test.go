package hosts_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"

	"github.com/bulwarkdev/bulwark/hosts"
)

// A request for a host the site does not serve is answered 400 before the
// application sees it; the body is the status text, never the host.
func ExampleValidator_Handler() {
	hv, err := hosts.New(hosts.Config{
		Allowed: []string{"example.com", ".example.org"},
		Logger:  slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}
	h := hv.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _ := hosts.Host(r)
		fmt.Fprintf(w, "hello %s", host)
	}))
	for _, host := range []string{"example.com", "WWW.Example.org:8443", "evil.com", "example.com@evil.com"} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Host = host
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Printf("%-22s %d %s", host, w.Code, w.Body)
		if w.Code == 200 {
			fmt.Println()
		}
	}
	// Output:
	// example.com            200 hello example.com
	// WWW.Example.org:8443   200 hello WWW.Example.org:8443
	// evil.com               400 Bad Request
	// example.com@evil.com   400 Bad Request
}

// Check reports why a host is refused, with Django's DisallowedHost text.
func ExampleValidator_Check() {
	hv, err := hosts.New(hosts.Config{Allowed: []string{"example.com"}})
	if err != nil {
		panic(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Host = "evil.com:80"
	fmt.Println(hv.Check(r))
	// Output:
	// hosts: disallowed host: Invalid HTTP_HOST header: 'evil.com:80'. You may need to add 'evil.com' to ALLOWED_HOSTS.
}

// Entries that could never match are refused at start-up; Django would
// accept them and silently refuse every request they were meant for.
func ExampleNew() {
	_, err := hosts.New(hosts.Config{Allowed: []string{"example.com:443", "example.org."}})
	fmt.Println(err)
	_, err = hosts.New(hosts.Config{Allowed: []string{"*"}})
	fmt.Println(err != nil)
	// Output:
	// hosts: invalid configuration: allowed entries can never match a request host (no port, no trailing dot, no '_' or spaces; IPv6 in brackets): "example.com:443", "example.org."
	// true
}

// AbsoluteURL resolves a location against the validated host, as Django's
// build_absolute_uri.
func ExampleAbsoluteURL() {
	hv, err := hosts.New(hosts.Config{Allowed: []string{"example.com"}})
	if err != nil {
		panic(err)
	}
	h := hv.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, loc := range []string{"/done", "../up", "?page=2", "//cdn.example.net/x"} {
			u, _ := hosts.AbsoluteURL(r, loc)
			fmt.Println(u)
		}
	}))
	r := httptest.NewRequest("GET", "/a/b", nil)
	r.Host = "example.com"
	h.ServeHTTP(httptest.NewRecorder(), r)
	// Output:
	// http://example.com/done
	// http://example.com/up
	// http://example.com/a/b?page=2
	// http://cdn.example.net/x
}
