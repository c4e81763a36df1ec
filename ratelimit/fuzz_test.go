package ratelimit_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/ratelimit"
)

// FuzzParseRate: a rate is accepted only in its one canonical spelling
// (String gives the input back), with a count of at least one and an
// emission interval from 1µs to 1h, so that no spelling reaches the
// stores with a zero, negative or overflowing interval.
func FuzzParseRate(f *testing.F) {
	seeds := []string{"1/s", "5/m", "100/h", "1000000/s", "0/s", "01/m", "-1/s", "1/d", "1/", "/s", "", "9999999999/s", "1/s/s"}
	for _, s := range seeds {
		f.Add(s)
	}
	if len(seeds) == 0 {
		f.Fatal("empty seed corpus")
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ratelimit.ParseRate(s)
		if err != nil {
			return
		}
		if r.String() != s {
			t.Fatalf("ParseRate(%q).String() = %q", s, r.String())
		}
		if r.N < 1 || r.Interval() < time.Microsecond || r.Interval() > time.Hour {
			t.Fatalf("ParseRate(%q) = %+v, interval %s", s, r, r.Interval())
		}
	})
}

// FuzzHandler: whatever the method, path, client address, header and
// cookie, a request is either let through unchanged (200, the app sees the
// path and the identifying headers as sent) or refused with 429 and a
// Retry-After of at least one second, and the app never sees a refused
// request; and a client's identity, not the spelling of unrelated cookies,
// decides its bucket: a second request with the same API key and session
// cookie is always refused under a limit of one.
func FuzzHandler(f *testing.F) {
	seeds := []struct{ method, path, peer, key, cookie string }{
		{"GET", "/", "192.0.2.1:1", "k", "sessionid=s"},
		{"POST", "/login", "[2001:db8::1]:1", "", ""},
		{"GET", "/a/../login", "@", "x\x00y", `sessionid="quoted"; other=1`},
		{"PUT", "//login/", "not-an-address", "very-long-key", "sessionid=; sessionid=second"},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, s.peer, s.key, s.cookie)
	}
	if len(seeds) == 0 {
		f.Fatal("empty seed corpus")
	}
	f.Fuzz(func(t *testing.T, method, path, peer, key, cookie string) {
		if !validMethod(method) || path == "" || path[0] != '/' {
			return
		}
		l, err := ratelimit.New(ratelimit.Config{
			Rules: []ratelimit.Rule{
				{Name: "api", Rate: "1/h", Paths: []string{"/"}, Key: "header:X-Api-Key"},
				{Name: "session", Rate: "1/h", Paths: []string{"/"}, Key: "cookie:sessionid"},
			},
			Logger: slog.New(slog.DiscardHandler),
		})
		if err != nil {
			t.Fatal(err)
		}
		var seen []string
		h := l.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			seen = append(seen, r.URL.Path+"|"+r.Header.Get("X-Api-Key")+"|"+r.Header.Get("Cookie"))
		}))
		for i := range 2 {
			r := &http.Request{Method: method, URL: &url.URL{Path: path}, RemoteAddr: peer, Header: http.Header{}, Host: "example.com"}
			r = r.WithContext(context.Background())
			if key != "" {
				r.Header["X-Api-Key"] = []string{key}
			}
			if cookie != "" {
				r.Header["Cookie"] = []string{cookie, "unrelated=" + strconv.Itoa(i)}
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			switch {
			case i == 0 && w.Code != 200:
				t.Fatalf("first request: %d", w.Code)
			case i == 1 && w.Code != http.StatusTooManyRequests:
				t.Fatalf("second request of the same client: %d", w.Code)
			case w.Code == http.StatusTooManyRequests:
				if ra, err := strconv.Atoi(w.Header().Get("Retry-After")); err != nil || ra < 1 {
					t.Fatalf("Retry-After %q", w.Header().Get("Retry-After"))
				}
			}
		}
		want := path + "|" + key + "|"
		if cookie != "" {
			want += cookie
		}
		if len(seen) != 1 || seen[0] != want {
			t.Fatalf("the app saw %q, want one %q", seen, want)
		}
	})
}

func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for i := 0; i < len(m); i++ {
		if c := m[i]; c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}
