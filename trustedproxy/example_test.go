package trustedproxy_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"

	"github.com/bulwarkdev/bulwark/trustedproxy"
)

// A client that talks to the server directly cannot choose its address or
// scheme: its X-Forwarded-For and X-Forwarded-Proto are ignored. The same
// headers from the trusted proxy count.
func ExampleResolver_Handler() {
	tp, err := trustedproxy.New(trustedproxy.Config{
		Trusted:        []string{"10.0.0.0/8"},
		SSLHeader:      "X-Forwarded-Proto",
		SSLHeaderValue: "https",
		Logger:         slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}
	h := tp.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println(trustedproxy.ClientIP(r), trustedproxy.Scheme(r))
	}))

	for _, peer := range []string{"198.51.100.9:4000", "10.0.0.1:4000"} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = peer
		r.Header.Set("X-Forwarded-For", "192.0.2.66")
		r.Header.Set("X-Forwarded-Proto", "https")
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	// Output:
	// 198.51.100.9 http
	// 192.0.2.66 https
}

// A trusted proxy that sends a chain which cannot be read gets 400: no
// client address is guessed from garbage.
func ExampleResolver_Check() {
	tp, err := trustedproxy.New(trustedproxy.Config{Trusted: []string{"loopback"}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "127.0.0.1:4000"
	r.Header.Set("X-Forwarded-For", "203.0.113.7, not-an-ip")
	fmt.Println(tp.Check(r))

	w := httptest.NewRecorder()
	tp.Handler(http.NotFoundHandler()).ServeHTTP(w, r)
	fmt.Println(w.Code)
	// Output:
	// trustedproxy: malformed X-Forwarded-For header: invalid_address: "not-an-ip"
	// 400
}

// ParseForwarded reads the elements of an RFC 7239 Forwarded header in
// order, strictly: a parameter given twice in one element is refused, since
// two readers could take different copies.
func ExampleParseForwarded() {
	elems, err := trustedproxy.ParseForwarded([]string{`for=192.0.2.66;proto=https, for="[2001:db8::1]:4711";proto=http;host=app.example`})
	if err != nil {
		panic(err)
	}
	for _, e := range elems {
		fmt.Printf("%q %q %q | %s\n", e.For, e.Proto, e.Host, e)
	}
	_, err = trustedproxy.ParseForwarded([]string{"for=192.0.2.66;for=203.0.113.7"})
	fmt.Println(err)
	// Output:
	// "192.0.2.66" "https" "" | for=192.0.2.66;proto=https
	// "[2001:db8::1]:4711" "http" "app.example" | for="[2001:db8::1]:4711";host=app.example;proto=http
	// trustedproxy: malformed Forwarded header: duplicate_parameter: "for"
}

// Behind proxies that send RFC 7239 Forwarded, the chain is walked from the
// right: the proxies' own elements are skipped, and what the client wrote
// at the left (here a forged address, scheme and host) is not believed.
func ExampleConfig_forwarded() {
	tp, err := trustedproxy.New(trustedproxy.Config{
		Trusted:          []string{"10.0.0.0/8"},
		ClientHeader:     trustedproxy.HeaderForwarded,
		UseForwardedHost: true,
		Logger:           slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.0.0.1:4000"
	r.Header.Add("Forwarded", "for=192.0.2.66;proto=https;host=evil.example")
	r.Header.Add("Forwarded", `for="[2001:db8::7]:4711";proto=https;host=app.example, for=10.0.0.5;proto=http`)
	f, err := tp.Facts(r)
	fmt.Println(f.ClientIP, f.Scheme, f.Host, err)
	// Output:
	// 2001:db8::7 https app.example <nil>
}
