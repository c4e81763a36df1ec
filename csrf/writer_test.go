package csrf_test

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwarkdev/bulwark/csrf"
)

// The cookie goes out with the headers however the application ends them:
// WriteHeader, Write, Flush through http.ResponseController, ReadFrom, or
// by writing nothing.
func TestCookieWithHeaders(t *testing.T) {
	p := mustNew(t, csrf.Config{})
	ends := map[string]func(w http.ResponseWriter){
		"WriteHeader": func(w http.ResponseWriter) { w.WriteHeader(201) },
		"Write":       func(w http.ResponseWriter) { w.Write([]byte("x")) },
		"Flush": func(w http.ResponseWriter) {
			if err := http.NewResponseController(w).Flush(); err != nil {
				t.Error(err)
			}
		},
		"ReadFrom": func(w http.ResponseWriter) { io.Copy(w, strings.NewReader("body")) },
		"nothing":  func(http.ResponseWriter) {},
	}
	for name, end := range ends {
		t.Run(name, func(t *testing.T) {
			h := p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Add("Vary", "Accept-Encoding, cookie")
				csrf.Token(r)
				end(w)
			}))
			res := serve(h, siteRequest("GET", "/", nil))
			if len(res.Cookies()) != 1 {
				t.Fatalf("cookies %q", res.Header.Values("Set-Cookie"))
			}
			if v := res.Header.Values("Vary"); len(v) != 1 {
				t.Fatalf("Vary %q: Cookie was already listed", v)
			}
		})
	}
}

// A 103 Early Hints response is not the final one: the cookie goes with
// the final headers (checked against a real server, which sends both).
func TestCookieAfterEarlyHints(t *testing.T) {
	p := mustNew(t, csrf.Config{})
	srv := httptest.NewServer(p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		csrf.Token(r)
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.WriteHeader(http.StatusOK)
	})))
	defer srv.Close()
	res, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || len(res.Cookies()) != 1 {
		t.Fatalf("status %d, cookies %q", res.StatusCode, res.Header.Values("Set-Cookie"))
	}
}

func TestHijackThroughWrapper(t *testing.T) {
	p := mustNew(t, csrf.Config{})
	srv := httptest.NewServer(p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
		buf.Flush()
	})))
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	if string(body) != "hijacked" {
		t.Fatalf("body %q", body)
	}
}

func TestTokenAfterHeadersWarns(t *testing.T) {
	logs := &logCapture{}
	p := mustNew(t, csrf.Config{Logger: slog.New(logs)})
	h := p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("<form>"))
		csrf.Token(r)
	}))
	res := serve(h, siteRequest("GET", "/", nil))
	if len(res.Cookies()) != 0 {
		t.Fatal("cookie after the headers")
	}
	if ev := logs.find("csrf_cookie_not_sent"); len(ev) != 1 || ev[0]["level"] != "WARN" {
		t.Fatalf("events %v", logs.events)
	}
}

// The cookie's Expires is now + Max-Age, as Django's set_cookie computes
// it (checked on synctest's fake clock).
func TestCookieExpires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, csrf.Config{})
		h := p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { csrf.Token(r) }))
		res := serve(h, siteRequest("GET", "/", nil))
		c := res.Cookies()
		if len(c) != 1 {
			t.Fatalf("cookies %q", res.Header.Values("Set-Cookie"))
		}
		want := time.Now().Add(csrf.DefaultCookieMaxAge).UTC().Truncate(time.Second)
		if !c[0].Expires.Equal(want) || c[0].MaxAge != 31449600 {
			t.Fatalf("Expires %v, Max-Age %d; want %v, 31449600", c[0].Expires, c[0].MaxAge, want)
		}
		// A browser-session cookie (Django's CSRF_COOKIE_AGE = None).
		p = mustNew(t, csrf.Config{CookieMaxAge: -1})
		res = serve(p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { csrf.Token(r) })), siteRequest("GET", "/", nil))
		if sc := res.Header.Get("Set-Cookie"); strings.Contains(sc, "Expires") || strings.Contains(sc, "Max-Age") {
			t.Fatalf("session cookie %q has a lifetime", sc)
		}
	})
}
