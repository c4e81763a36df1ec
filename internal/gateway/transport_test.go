package gateway_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/gateway"
)

// rawUpstream is an HTTP/1.1 upstream written on the socket, so that a
// test controls every byte of the answers and sees every connection.
type rawUpstream struct {
	ln    net.Listener
	conns atomic.Int64 // connections that carried a request other than a health check
	mu    sync.Mutex
	seen  []string // "conn N: METHOD PATH" per request, health checks left out
	// answer writes the answer to one request on conn number n; it
	// returns false to end the connection.
	answer func(w *bufio.Writer, r *http.Request, n int64) bool
}

func newRawUpstream(t *testing.T, answer func(w *bufio.Writer, r *http.Request, n int64) bool) *rawUpstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &rawUpstream{ln: ln, answer: answer}
	var wg sync.WaitGroup
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				u.serve(c)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return u
}

func (u *rawUpstream) serve(c net.Conn) {
	br, bw := bufio.NewReader(c), bufio.NewWriter(c)
	var n int64
	for {
		r, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, r.Body)
		if r.URL.Path == "/healthz" {
			fmt.Fprint(bw, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok")
			bw.Flush()
			continue
		}
		if n == 0 {
			n = u.conns.Add(1)
		}
		u.mu.Lock()
		u.seen = append(u.seen, fmt.Sprintf("conn %d: %s %s", n, r.Method, r.URL.Path))
		u.mu.Unlock()
		keep := u.answer(bw, r, n)
		if err := bw.Flush(); err != nil || !keep {
			return
		}
	}
}

func (u *rawUpstream) url() string { return "http://" + u.ln.Addr().String() }

func (u *rawUpstream) requests() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.seen...)
}

func okAnswer(w *bufio.Writer, r *http.Request, n int64) bool {
	body := fmt.Sprintf("conn %d %s", n, r.URL.Path)
	fmt.Fprintf(w, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n", len(body))
	if r.Method != http.MethodHead {
		w.WriteString(body)
	}
	return true
}

func startRaw(t *testing.T, u *rawUpstream, mutate func(*gateway.Config)) *env {
	return start(t, nil, func(c *gateway.Config) {
		c.Upstream.URL = u.url()
		if mutate != nil {
			mutate(c)
		}
	})
}

// Sequential requests on one client connection travel over one kept-alive
// upstream connection, whatever their method and answer shape.
func TestUpstreamKeepAlive(t *testing.T) {
	u := newRawUpstream(t, okAnswer)
	e := startRaw(t, u, nil)
	for i := 0; i < 20; i++ {
		method := []string{http.MethodGet, http.MethodHead, http.MethodOptions}[i%3]
		req, _ := http.NewRequest(method, fmt.Sprintf("%s/r%d", e.https, i), nil)
		resp, body := e.do(req)
		if resp.StatusCode != 200 {
			t.Fatalf("%s /r%d: status %d", method, i, resp.StatusCode)
		}
		if method == http.MethodGet && body != fmt.Sprintf("conn 1 /r%d", i) {
			t.Fatalf("GET /r%d: body %q, want it served on upstream connection 1", i, body)
		}
	}
	if got := u.conns.Load(); got != 1 {
		t.Errorf("20 sequential requests used %d upstream connections, want 1: %v", got, u.requests())
	}
}

// An upstream that closes a kept-alive connection between requests (its
// idle timeout) costs the client nothing: the next GET is sent again on a
// new connection.
func TestUpstreamClosedIdleConnectionRetried(t *testing.T) {
	u := newRawUpstream(t, func(w *bufio.Writer, r *http.Request, n int64) bool {
		okAnswer(w, r, n)
		return false // closes after every answer, without saying so
	})
	e := startRaw(t, u, nil)
	for i := 0; i < 5; i++ {
		resp, body := e.get(fmt.Sprintf("%s/r%d", e.https, i))
		if resp.StatusCode != 200 || !strings.HasSuffix(body, fmt.Sprintf("/r%d", i)) {
			t.Fatalf("GET /r%d after the upstream closed its connection: %d %q", i, resp.StatusCode, body)
		}
		time.Sleep(20 * time.Millisecond) // the close reaches the gateway's side
	}
	if got := u.conns.Load(); got != 5 {
		t.Errorf("upstream connections %d, want 5 (one per request)", got)
	}
}

// A request that is not idempotent is never sent twice: the upstream sees
// each DELETE once even when its connections close after every answer.
func TestUpstreamNonIdempotentNotRepeated(t *testing.T) {
	u := newRawUpstream(t, func(w *bufio.Writer, r *http.Request, n int64) bool {
		okAnswer(w, r, n)
		return false
	})
	e := startRaw(t, u, func(c *gateway.Config) { c.Edge.CSRFPaths = []string{"/csrf-only/"} })
	for i := 0; i < 3; i++ {
		req, _ := http.NewRequest(http.MethodDelete, fmt.Sprintf("%s/d%d", e.https, i), nil)
		req.Header.Set("Origin", e.https)
		resp, _ := e.do(req)
		if resp.StatusCode != 200 {
			t.Fatalf("DELETE /d%d: %d", i, resp.StatusCode)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := u.requests(); len(got) != 3 {
		t.Errorf("upstream saw %d requests for 3 DELETEs: %v", len(got), got)
	}
}

// Answers the direct path must pass on whole: a chunked body with
// trailers, a body delimited by the connection's close, 204 and 304, and
// informational 103 answers before the final one.
func TestUpstreamAnswerShapes(t *testing.T) {
	u := newRawUpstream(t, func(w *bufio.Writer, r *http.Request, n int64) bool {
		switch r.URL.Path {
		case "/chunked":
			w.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTrailer: X-Sum\r\nTransfer-Encoding: chunked\r\n\r\n" +
				"5\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 42\r\n\r\n")
		case "/close-delimited":
			w.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nuntil the end")
			return false
		case "/204":
			w.WriteString("HTTP/1.1 204 No Content\r\n\r\n")
		case "/304":
			w.WriteString("HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n")
		case "/hints":
			w.WriteString("HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n")
			w.WriteString("HTTP/1.1 103 Early Hints\r\nLink: </b.js>; rel=preload\r\n\r\n")
			w.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nfinal")
		case "/hints-flood":
			for i := 0; i < 10; i++ {
				w.WriteString("HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n")
			}
			w.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
		case "/huge-header":
			w.WriteString("HTTP/1.1 200 OK\r\n")
			for i := 0; i < 2<<10; i++ {
				fmt.Fprintf(w, "X-Pad-%d: %s\r\n", i, strings.Repeat("a", 1000))
			}
			w.WriteString("Content-Length: 0\r\n\r\n")
			return false
		default:
			return okAnswer(w, r, n)
		}
		return true
	})
	e := startRaw(t, u, nil)

	resp, body := e.get(e.https + "/chunked")
	if resp.StatusCode != 200 || body != "hello world" || resp.Trailer.Get("X-Sum") != "42" {
		t.Errorf("chunked: %d %q trailer %v", resp.StatusCode, body, resp.Trailer)
	}
	resp, body = e.get(e.https + "/close-delimited")
	if resp.StatusCode != 200 || body != "until the end" {
		t.Errorf("close-delimited: %d %q", resp.StatusCode, body)
	}
	resp, body = e.get(e.https + "/204")
	if resp.StatusCode != 204 || body != "" {
		t.Errorf("204: %d %q", resp.StatusCode, body)
	}
	resp, _ = e.get(e.https+"/304", "If-None-Match", `"x"`)
	if resp.StatusCode != 304 || resp.Header.Get("ETag") != `"x"` {
		t.Errorf("304: %d %v", resp.StatusCode, resp.Header)
	}

	var hints []string
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		hints = append(hints, fmt.Sprintf("%d %s", code, h.Get("Link")))
		return nil
	}}
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodGet, e.https+"/hints", nil)
	resp, body = e.do(req)
	want := []string{"103 </a.css>; rel=preload", "103 </b.js>; rel=preload"}
	if resp.StatusCode != 200 || body != "final" || fmt.Sprint(hints) != fmt.Sprint(want) {
		t.Errorf("early hints: %d %q, hints %q, want %q", resp.StatusCode, body, hints, want)
	}

	resp, body = e.get(e.https + "/hints-flood")
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("ten 103 answers: %d %q, want 502", resp.StatusCode, body)
	}
	resp, body = e.get(e.https + "/huge-header")
	if resp.StatusCode != http.StatusBadGateway || body != "Bad Gateway" {
		t.Errorf("2 MB of response header: %d %q, want 502", resp.StatusCode, body)
	}
	// And the connection pool is still good after all of it.
	resp, body = e.get(e.https + "/after")
	if resp.StatusCode != 200 || !strings.HasSuffix(body, "/after") {
		t.Errorf("after: %d %q", resp.StatusCode, body)
	}
}

// A client that goes away while the upstream thinks abandons the upstream
// request: the gateway closes that upstream connection, over HTTP/1 (the
// gateway's connection finds the client gone) and HTTP/2 (the stream's
// context), and does not report the client's leaving as an upstream
// error.
func TestUpstreamRequestAbandonedWithClient(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		t.Run(map[bool]string{false: "HTTP/1.1", true: "HTTP/2"}[h2], func(t *testing.T) {
			testUpstreamRequestAbandonedWithClient(t, h2)
		})
	}
}

func testUpstreamRequestAbandonedWithClient(t *testing.T, h2 bool) {
	closed := make(chan struct{})
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln2.Close()
	var once sync.Once
	go func() {
		for {
			c, err := ln2.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					r, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					if r.URL.Path == "/healthz" {
						c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
						continue
					}
					// Never answer; wait for the gateway to give up.
					c.SetReadDeadline(time.Now().Add(10 * time.Second))
					if _, err := br.ReadByte(); err == io.EOF {
						once.Do(func() { close(closed) })
					}
					return
				}
			}()
		}
	}()
	e := start(t, nil, func(c *gateway.Config) {
		c.Upstream.URL = "http://" + ln2.Addr().String()
	})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.https+"/think", nil)
	go func() { time.Sleep(200 * time.Millisecond); cancel() }()
	// The client's leaving (TLS close_notify, then the close) makes the
	// gateway answer 502 at once, which can reach the client in the
	// instant before its connection closes: then Do returns that answer.
	// Nothing else may come back (the upstream never answers).
	resp, err := e.newClient(h2).Do(req)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadGateway {
			t.Fatalf("the client got %d, without an answer from the upstream", resp.StatusCode)
		}
	}
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream connection stayed open after the client left")
	}
	// The gateway's answer to a gone client is written (and lost) after
	// the upstream connection closed: give it a moment, then look.
	time.Sleep(100 * time.Millisecond)
	if logs := e.logs.String(); strings.Contains(logs, "upstream_error") {
		t.Errorf("the client's leaving was logged as an upstream error:\n%s", logs)
	}
	// The gateway serves the next request (on HTTP/1, a new connection).
	res, err := e.newClient(h2).Get(e.https + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("next request: %d", res.StatusCode)
	}
}

// ResponseHeaderTimeout bounds the wait for the answer's head on the
// direct path too: 502, logged as upstream_timeout.
func TestUpstreamResponseHeaderTimeoutDirect(t *testing.T) {
	u := newRawUpstream(t, func(w *bufio.Writer, r *http.Request, n int64) bool {
		time.Sleep(2 * time.Second)
		return okAnswer(w, r, n)
	})
	e := startRaw(t, u, func(c *gateway.Config) { c.Upstream.ResponseHeaderTimeout = 200 * time.Millisecond })
	began := time.Now()
	resp, _ := e.get(e.https + "/slow")
	if resp.StatusCode != http.StatusBadGateway || time.Since(began) > 1500*time.Millisecond {
		t.Errorf("status %d after %v, want 502 within the timeout", resp.StatusCode, time.Since(began))
	}
	if !strings.Contains(e.logs.String(), `"reason":"upstream_timeout"`) {
		t.Errorf("no upstream_timeout event in %s", e.logs.String())
	}
}

// The upstream gets no Accept-Encoding the client did not send, on either
// transport path (GET and POST), and a compressed answer passes unchanged.
func TestUpstreamNoAddedAcceptEncoding(t *testing.T) {
	var got sync.Map
	u := newRawUpstream(t, func(w *bufio.Writer, r *http.Request, n int64) bool {
		got.Store(r.Method, r.Header.Get("Accept-Encoding"))
		w.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\nGZIP")
		return true
	})
	e := startRaw(t, u, func(c *gateway.Config) { c.Edge.CSRFPaths = []string{"/csrf-only/"} })
	e.client.Transport.(*http.Transport).DisableCompression = true
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		var in io.Reader
		if m == http.MethodPost {
			in = strings.NewReader("x")
		}
		req, _ := http.NewRequest(m, e.https+"/enc", in)
		resp, body := e.do(req)
		if resp.StatusCode != 200 || body != "GZIP" || resp.Header.Get("Content-Encoding") != "gzip" {
			t.Errorf("%s: %d %q %v", m, resp.StatusCode, body, resp.Header)
		}
		if v, _ := got.Load(m); v != "" {
			t.Errorf("%s: the upstream got Accept-Encoding %q the client did not send", m, v)
		}
	}
}

// An upstream that writes on a kept-alive connection between requests (an
// answer longer than its Content-Length said, or an answer nobody asked
// for) never has those bytes read as another request's answer: the
// connection is dropped, and the next request goes on a new one.
func TestUpstreamUnsolicitedAnswerNotServed(t *testing.T) {
	u := newRawUpstream(t, func(w *bufio.Writer, r *http.Request, n int64) bool {
		if r.URL.Path == "/first" {
			w.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nfirst")
			w.Flush()
			time.Sleep(30 * time.Millisecond)
			w.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\nPOISON")
			return true
		}
		return okAnswer(w, r, n)
	})
	e := startRaw(t, u, nil)
	if resp, body := e.get(e.https + "/first"); resp.StatusCode != 200 || body != "first" {
		t.Fatalf("first: %d %q", resp.StatusCode, body)
	}
	time.Sleep(150 * time.Millisecond)
	for _, p := range []string{"/second", "/third"} {
		resp, body := e.get(e.https + p)
		if resp.StatusCode != 200 || body != "conn 2 "+p {
			t.Errorf("%s: %d %q, want the answer to it on a new upstream connection", p, resp.StatusCode, body)
		}
	}
}

// An informational answer (103 Early Hints) passes on, and the final
// answer still carries what the edge set before the upstream answered
// (HSTS and the security headers), once, on either transport path.
func TestUpstreamEarlyHintsKeepEdgeHeaders(t *testing.T) {
	u := newRawUpstream(t, func(w *bufio.Writer, r *http.Request, n int64) bool {
		w.WriteString("HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n")
		w.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Frame-Options: SAMEORIGIN\r\nContent-Length: 5\r\n\r\nfinal")
		return true
	})
	e := startRaw(t, u, func(c *gateway.Config) { c.Edge.CSRFPaths = []string{"/csrf-only/"} })
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		var hints []string
		trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
			hints = append(hints, fmt.Sprintf("%d %s", code, h.Get("Link")))
			return nil
		}}
		var in io.Reader
		if method == http.MethodPost {
			in = strings.NewReader("a=b")
		}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), method, e.https+"/page", in)
		if in != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, body := e.do(req)
		if resp.StatusCode != 200 || body != "final" || fmt.Sprint(hints) != "[103 </a.css>; rel=preload]" {
			t.Errorf("%s: %d %q, hints %q", method, resp.StatusCode, body, hints)
		}
		for _, k := range []string{"Strict-Transport-Security", "X-Frame-Options", "Referrer-Policy", "X-Content-Type-Options", "Cross-Origin-Opener-Policy"} {
			if got := resp.Header.Values(k); len(got) != 1 {
				t.Errorf("%s: final answer has %s %q, want the edge's value once", method, k, got)
			}
		}
		if got := resp.Header.Get("X-Frame-Options"); got != "DENY" {
			t.Errorf("%s: X-Frame-Options %q, want the edge's DENY first", method, got)
		}
		if resp.Header.Get("Link") != "" {
			t.Errorf("%s: the hint's Link leaked into the final answer", method)
		}
	}
}

// An upstream body that breaks off is never passed on as a complete
// answer: the client's read of it fails, chunked or not.
func TestUpstreamTruncatedBodyAborts(t *testing.T) {
	u := newRawUpstream(t, func(w *bufio.Writer, r *http.Request, n int64) bool {
		switch r.URL.Path {
		case "/short":
			w.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nonly ten!!")
		case "/chunked":
			w.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
		}
		return false // and close, mid-body
	})
	e := startRaw(t, u, nil)
	for _, p := range []string{"/short", "/chunked"} {
		resp, err := e.client.Get(e.https + p)
		if err != nil {
			continue // aborted before the head: also not a complete answer
		}
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil {
			t.Errorf("%s: the client read a complete answer from a body that broke off", p)
		}
	}
}
