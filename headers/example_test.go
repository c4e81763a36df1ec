package headers_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/bulwarkdev/bulwark/headers"
)

// A policy that writes "self" without its quotes would allow a host named
// "self" and nothing else the author meant; New refuses it.
func ExampleNew_unquotedKeyword() {
	_, err := headers.New(headers.Config{
		CSP: headers.Policy{{Name: "script-src", Values: []string{"self"}}},
	})
	fmt.Println(err)
	// Output:
	// headers: invalid content security policy: csp: directive "script-src": value "self": keyword without quotes (write 'self')
}

// The nonce appears in the policy only when the page used it.
func ExampleNonce() {
	hs, err := headers.New(headers.Config{
		CSP: headers.Policy{{Name: "script-src", Values: []string{headers.Self, headers.NonceSentinel}}},
	})
	if err != nil {
		panic(err)
	}
	var nonce string
	page := hs.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nonce = headers.Nonce(r)
		fmt.Fprintf(w, `<script nonce="%s">start()</script>`, nonce)
	}))
	w := httptest.NewRecorder()
	page.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	fmt.Println(w.Header().Get("Content-Security-Policy") == "script-src 'self' 'nonce-"+nonce+"'")
	fmt.Println(w.Header().Get("X-Frame-Options"))
	// Output:
	// true
	// DENY
}
