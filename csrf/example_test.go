package csrf_test

import (
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/bulwarkdev/bulwark/csrf"
)

// A cross-site form post is refused before the application runs.
func Example() {
	p, err := csrf.New(csrf.Config{
		Logger: slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
			ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
				if a.Key == slog.TimeKey || a.Key == "client_ip" {
					return slog.Attr{}
				}
				return a
			},
		})),
	})
	if err != nil {
		panic(err)
	}
	balance := 100
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { balance -= 50 })

	// What a browser sends when evil.test auto-submits a form to us.
	r := httptest.NewRequest("POST", "http://bank.example/transfer", nil)
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	r.Header.Set("Origin", "https://evil.test")
	w := httptest.NewRecorder()
	p.Handler(app).ServeHTTP(w, r)

	fmt.Println(w.Code, w.Body.String(), "balance:", balance)
	// Output:
	// level=INFO msg="csrf failure" event=csrf_failure reason=bad_origin host="\"bank.example\"" method=POST path=/transfer detail="\"Origin checking failed - https://evil.test does not match any trusted origins.\""
	// 403 Forbidden balance: 100
}

// Fetch Metadata alone, for an API whose clients cannot carry tokens: a
// same-origin fetch passes, an old browser's cross-origin post does not.
func ExampleConfig_tokenless() {
	p, _ := csrf.New(csrf.Config{InsecureSkipTokens: true, Logger: slog.New(slog.DiscardHandler)})
	for _, origin := range []string{"http://api.example", "http://API.example:80", "http://api.example.evil.test", "null"} {
		r := httptest.NewRequest("POST", "http://api.example/items", nil)
		r.Header.Set("Origin", origin)
		fmt.Println(origin, p.Check(r) == nil)
	}
	// Output:
	// http://api.example true
	// http://API.example:80 true
	// http://api.example.evil.test false
	// null false
}

// TemplateField puts the masked token in a form.
func ExampleTemplateField() {
	p, _ := csrf.New(csrf.Config{})
	page := template.Must(template.New("").Parse(`<form method="post">{{ .CSRF }}<button>Send</button></form>`))
	h := p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Render before writing: the cookie must go out with the headers.
		_ = page.Execute(w, map[string]any{"CSRF": csrf.TemplateField(r)})
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "http://localhost:8000/", nil))
	fmt.Println(len(w.Result().Cookies()), w.Result().Cookies()[0].Name, len(w.Body.String()))
	// Output:
	// 1 csrftoken 169
}

// Exempt lets a webhook that checks its own signature through; a request
// the mux would only redirect to it (no trailing slash) stays protected.
func ExampleExempt() {
	p, _ := csrf.New(csrf.Config{Logger: slog.New(slog.DiscardHandler)})
	mux := http.NewServeMux()
	mux.Handle("POST /hooks/", csrf.Exempt(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// verify the sender's signature here
	})))
	h := p.Handler(mux)
	for _, path := range []string{"/hooks/payments", "/hooks"} {
		r := httptest.NewRequest("POST", "http://shop.example"+path, nil)
		r.Header.Set("Sec-Fetch-Site", "cross-site")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(path, w.Code)
	}
	// Output:
	// /hooks/payments 200
	// /hooks 403
}

// Without tokens, Django's Referer rule still judges an HTTPS request from
// a browser that sent neither Origin nor Sec-Fetch-Site: its Referer must
// be this site's.
func ExampleConfig_refererWithoutTokens() {
	p, _ := csrf.New(csrf.Config{InsecureSkipTokens: true, RefererWithoutTokens: true, Logger: slog.New(slog.DiscardHandler)})
	for _, referer := range []string{"https://bank.example/transfer", "https://evil.test/", "http://bank.example/", ""} {
		r := httptest.NewRequest("POST", "https://bank.example/transfer", nil)
		if referer != "" {
			r.Header.Set("Referer", referer)
		}
		fmt.Printf("%q %v\n", referer, p.Check(r))
	}
	// Output:
	// "https://bank.example/transfer" <nil>
	// "https://evil.test/" csrf: Referer checking failed - https://evil.test/ does not match any trusted origins.
	// "http://bank.example/" csrf: Referer checking failed - Referer is insecure while host is secure.
	// "" csrf: Referer checking failed - no Referer.
}
