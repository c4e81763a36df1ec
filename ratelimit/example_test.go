package ratelimit_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/bulwarkdev/bulwark/ratelimit"
)

// A password-guessing client is stopped after three failed sign-ins, while
// a user who signs in successfully is never counted. The login handler
// answers as Django's LoginView does: 200 (the form again) on failure, 302
// on success.
func ExampleLimiter_Handler() {
	l, err := ratelimit.New(ratelimit.Config{
		Rules: []ratelimit.Rule{{
			Name:          "login",
			Paths:         []string{"/accounts/login/"},
			Methods:       []string{"POST"},
			Rate:          "3/h",
			CountStatuses: []int{http.StatusOK},
		}},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}
	login := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.PostFormValue("password") == "correct horse" {
			http.Redirect(w, r, "/", http.StatusFound)
			return
		}
		fmt.Fprint(w, "<form>")
	})
	h := l.Handler(login)
	try := func(client, password string) {
		body := url.Values{"password": {password}}.Encode()
		r := httptest.NewRequest("POST", "/accounts/login/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.RemoteAddr = client + ":4000"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(client, password, w.Code, w.Header()["Retry-After"])
	}
	for _, guess := range []string{"123456", "password", "qwerty", "letmein"} {
		try("203.0.113.66", guess)
	}
	for range 4 {
		try("198.51.100.7", "correct horse")
	}
	// Output:
	// 203.0.113.66 123456 200 []
	// 203.0.113.66 password 200 []
	// 203.0.113.66 qwerty 200 []
	// 203.0.113.66 letmein 429 [1200]
	// 198.51.100.7 correct horse 302 []
	// 198.51.100.7 correct horse 302 []
	// 198.51.100.7 correct horse 302 []
	// 198.51.100.7 correct horse 302 []
}
