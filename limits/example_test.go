package limits_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/bulwarkdev/bulwark/limits"
)

// A body sent without Content-Length (chunked) cannot slip past the cap:
// it is counted while it streams.
func ExampleLimiter_Handler() {
	l, err := limits.New(limits.Config{
		Values: limits.Values{MaxBodyBytes: 1 << 10},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}
	h := l.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			limits.WriteError(w, r, err)
			return
		}
		fmt.Fprintln(w, "stored")
	}))

	for _, size := range []int{100, 5000} {
		r := httptest.NewRequest("POST", "/", strings.NewReader(strings.Repeat("x", size)))
		r.ContentLength = -1 // unknown, as with chunked encoding
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(size, w.Code)
	}
	// Output:
	// 100 200
	// 5000 413
}

// An application parsing a form answers a limit error with WriteError:
// the limit's status, never the error text, and one refusal event on the
// Limiter's logger.
func ExampleWriteError() {
	l, err := limits.New(limits.Config{
		Values: limits.Values{MaxFields: 3},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}
	h := l.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, form, err := limits.ParseForm(r, nil)
		if err != nil {
			limits.WriteError(w, r, err)
			return
		}
		fmt.Fprintln(w, "hello", form.Get("name"))
	}))

	for _, body := range []string{"name=ada", "a=1&b=2&c=3&d=4"} {
		r := httptest.NewRequest("POST", "/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Print(w.Code, " ", w.Body.String())
	}
	// Output:
	// 200 hello ada
	// 400 Bad Request
}
