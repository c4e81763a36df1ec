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
