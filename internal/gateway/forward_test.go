package gateway

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
)

// recordingUpstream records every request head it reads, byte for byte,
// and answers each path with a fixed raw answer.
type recordingUpstream struct {
	ln    net.Listener
	mu    sync.Mutex
	heads []string
}

func newRecordingUpstream(t *testing.T, answers map[string]string) *recordingUpstream {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &recordingUpstream{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					var head bytes.Buffer
					for {
						line, err := br.ReadString('\n')
						if err != nil {
							return
						}
						head.WriteString(line)
						if line == "\r\n" {
							break
						}
					}
					path := strings.Fields(head.String())[1]
					u.mu.Lock()
					u.heads = append(u.heads, head.String())
					u.mu.Unlock()
					a, ok := answers[path]
					if !ok {
						a = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
					}
					if _, err := c.Write([]byte(a)); err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return u
}

func (u *recordingUpstream) last() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.heads) == 0 {
		return ""
	}
	return u.heads[len(u.heads)-1]
}

// TestForwarderMatchesReverseProxy sends the same requests through the
// gateway's own forwarder and through httputil.ReverseProxy (the same
// gateway with the forwarder turned off) and compares, byte for byte, the
// request head the upstream read and, field by field, the answer the
// client got: the forwarder must be a faster ReverseProxy, nothing else.
// (Informational answers need a real server: TestUpstreamEarlyHintsKeepEdgeHeaders
// covers them on both paths.)
func TestForwarderMatchesReverseProxy(t *testing.T) {
	answers := map[string]string{
		"/plain": "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nX-App: 1\r\nX-App: 2\r\n\r\nhello",
		"/untyped": "HTTP/1.1 200 OK\r\nSet-Cookie: sessionid=abc; Path=/\r\nSet-Cookie: theme=dark\r\n" +
			"Connection: X-Hop\r\nX-Hop: drop me\r\nKeep-Alive: timeout=5\r\nContent-Length: 7\r\n\r\n<p>x</p",
		"/trailers": "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTrailer: X-Sum\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"3\r\nabc\r\n0\r\nX-Sum: 7\r\n\r\n",
		"/stream": "HTTP/1.1 200 OK\r\nContent-Type: Text/Event-Stream; charset=utf-8\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"6\r\ndata:1\r\n0\r\n\r\n",
		"/empty": "HTTP/1.1 204 No Content\r\nX-Frame-Options: SAMEORIGIN\r\n\r\n",
		"/head":  "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\n",
	}
	up := newRecordingUpstream(t, answers)
	build := func() *Gateway {
		cfg := Config{}
		cfg.Listen = ListenConfig{HTTPS: "127.0.0.1:0", HTTP: Off, Admin: Off}
		cfg.TLS.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return nil, errors.New("unused") }
		cfg.Upstream.URL = "http://" + up.ln.Addr().String()
		cfg.Hosts.Allowed = []string{"site.test"}
		cfg.Edge.Cookies.HTTPOnly = []string{"sessionid"}
		cfg.AccessLog.Disabled = true
		g, err := New(cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(g.Close)
		return g
	}
	fast, slow := build(), build()
	slow.tree.Load().fwd.t = nil // every request through ReverseProxy

	type req struct {
		method, target string
		header         []string
	}
	reqs := []req{
		{"GET", "/plain?b=2&a=1&bad=%zz;x", []string{"Accept", "*/*", "Cookie", "a=1; b=2",
			"Connection", "keep-alive, X-Secret", "X-Secret", "s", "Keep-Alive", "300", "Te", "trailers, deflate",
			"Proxy-Authorization", "Basic eA==", "X-Forwarded-For", "6.6.6.6", "Forwarded", "for=6.6.6.6",
			"X-Forwarded-Host", "evil", "X-Real-Ip", "6.6.6.6", "Accept-Encoding", "gzip"}},
		{"GET", "/untyped", []string{"User-Agent", "agent/1", "Content-Length", "0"}},
		{"GET", "/trailers", []string{"Te", "trailers"}},
		{"GET", "/stream", nil},
		{"OPTIONS", "/empty", []string{"Access-Control-Request-Method", "PUT"}},
		{"HEAD", "/head", nil},
		{"GET", "/missing", []string{"User-Agent", ""}},
	}
	for _, rq := range reqs {
		var heads [2]string
		var answers [2]string
		for i, g := range []*Gateway{fast, slow} {
			r := httptest.NewRequest(rq.method, "https://site.test"+rq.target, nil)
			r.RemoteAddr = "192.0.2.7:4000"
			for j := 0; j+1 < len(rq.header); j += 2 {
				r.Header[rq.header[j]] = append(r.Header[rq.header[j]], rq.header[j+1])
			}
			w := httptest.NewRecorder()
			g.ServeHTTP(w, r)
			heads[i] = up.last()
			res := w.Result()
			answers[i] = describe(res, w.Body.String())
		}
		if heads[0] != heads[1] {
			t.Errorf("%s %s: the upstream read\n%q\nfrom the forwarder, and\n%q\nfrom ReverseProxy", rq.method, rq.target, heads[0], heads[1])
		}
		if answers[0] != answers[1] {
			t.Errorf("%s %s: the client got\n%s\nfrom the forwarder, and\n%s\nfrom ReverseProxy", rq.method, rq.target, answers[0], answers[1])
		}
	}
	// And the comparison is not vacuous: the upstream saw the client's
	// own headers, without the hop-by-hop and forged ones.
	first := up.heads[0]
	for _, want := range []string{"GET /plain?b=2&a=1&bad=%zz;x HTTP/1.1\r\n", "Cookie: a=1; b=2\r\n", "Te: trailers\r\n", "X-Forwarded-For: 192.0.2.7\r\n"} {
		if !strings.Contains(first, want) {
			t.Errorf("first request head lacks %q:\n%s", want, first)
		}
	}
	for _, bad := range []string{"X-Secret", "Keep-Alive", "Proxy-Authorization", "6.6.6.6", "evil", "User-Agent"} {
		if strings.Contains(first, bad) {
			t.Errorf("first request head has %q:\n%s", bad, first)
		}
	}
}

// describe is an answer as a comparable text: status, headers (Date
// aside) in order, body, trailers.
func describe(res *http.Response, body string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d\n", res.StatusCode)
	keys := make([]string, 0, len(res.Header))
	for k := range res.Header {
		if k != "Date" && k != "X-Request-Id" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s: %q\n", k, res.Header[k])
	}
	fmt.Fprintf(&b, "body %q\ntrailer %v\n", body, res.Trailer)
	return b.String()
}
