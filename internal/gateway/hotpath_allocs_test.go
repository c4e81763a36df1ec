package gateway

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"
)

// zeroAllocUpstream answers every HTTP/1.1 request head it reads with the
// same fixed answer, allocating nothing per request, so that an allocation
// count around it counts the gateway's alone.
type zeroAllocUpstream struct {
	ln    net.Listener
	conns atomic.Int64
	reqs  atomic.Int64
}

const fixedAnswer = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 23\r\n" +
	"Date: Thu, 03 Dec 2026 16:00:00 GMT\r\n\r\nhello from the backend\n"

func newZeroAllocUpstream(t testing.TB) *zeroAllocUpstream {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &zeroAllocUpstream{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u.conns.Add(1)
			go u.serve(c)
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return u
}

func (u *zeroAllocUpstream) serve(c net.Conn) {
	defer c.Close()
	var buf [8192]byte
	answer := []byte(fixedAnswer)
	n := 0
	for {
		m, err := c.Read(buf[n:])
		if err != nil {
			return
		}
		n += m
		for {
			i := bytes.Index(buf[:n], []byte("\r\n\r\n"))
			if i < 0 {
				break
			}
			u.reqs.Add(1)
			if _, err := c.Write(answer); err != nil {
				return
			}
			n = copy(buf[:], buf[i+4:n])
		}
		if n == len(buf) {
			return
		}
	}
}

// statusRecorder keeps the status and the body length, reusing its header.
type statusRecorder struct {
	h     http.Header
	code  int
	bytes int
}

func (s *statusRecorder) Header() http.Header { return s.h }
func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
}
func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = 200
	}
	s.bytes += len(b)
	return len(b), nil
}

// TestProxiedGETAllocs pins what a proxied GET costs in allocations
// through the composed gateway handler (every protection the benchmark
// configuration turns on, the access log written to a file), upstream
// connection reuse included: 18, where httputil.ReverseProxy over
// net/http's Transport cost 72. Of the 18, half are net/http's parser of
// the upstream's answer and its header; the rest are the request record
// (2), the headers layer's values (1), the outbound request with its URL
// (1), its header (2), the forwarded values (1) and the answer's body (1).
// Watching the client for the upstream request costs none on HTTP/1 (the
// gateway's connection does it). The server's own parsing of the request,
// before the handler, is not counted.
func TestProxiedGETAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	up := newZeroAllocUpstream(t)
	cfg := Config{}
	cfg.Listen = ListenConfig{HTTPS: "127.0.0.1:0", HTTP: Off, Admin: Off}
	cfg.TLS.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return nil, errors.New("unused") }
	cfg.Upstream.URL = "http://" + up.ln.Addr().String()
	cfg.Hosts.Allowed = []string{"site.test"}
	cfg.HTTPS.HSTSIncludeSubdomains = true
	cfg.HTTPS.HSTSPreload = true
	cfg.Limits.MaxBodyBytes = 10 << 20
	cfg.CSRF.TrustedOrigins = []string{"https://site.test"}
	cfg.Uploads.Paths = []string{"/upload/"}
	cfg.Edge.CSRFPaths = []string{"/"}
	cfg.Edge.Cookies.HTTPOnly = []string{"sessionid"}
	cfg.AccessLog.Path = filepath.Join(t.TempDir(), "access.log")
	g, err := New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	// As over the gateway's HTTP/1 listener: the request's connection is
	// a framedConn, which the upstream transport watches for the client.
	client, peer := net.Pipe()
	defer client.Close()
	defer peer.Close()
	ctx := context.WithValue(context.Background(), framedConnKey{}, newFramedConn(client, nil))
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://site.test/page", nil)
	req.RemoteAddr = "127.0.0.1:5555"
	req.TLS = &tls.ConnectionState{Version: tls.VersionTLS13, HandshakeComplete: true}
	req.Header.Set("User-Agent", "wrk")
	req.Header.Set("Accept", "*/*")
	w := &statusRecorder{h: http.Header{}}
	serve := func() {
		clear(w.h)
		w.code, w.bytes = 0, 0
		g.ServeHTTP(w, req)
	}
	serve()
	if w.code != 200 || w.bytes != 23 || w.h.Get("Strict-Transport-Security") == "" {
		t.Fatalf("proxied GET: status %d, %d bytes, header %v", w.code, w.bytes, w.h)
	}
	n := testing.AllocsPerRun(500, serve)
	if got := up.reqs.Load(); got != 502 || up.conns.Load() != 1 {
		t.Fatalf("upstream saw %d requests on %d connections, want 502 on 1", got, up.conns.Load())
	}
	t.Logf("proxied GET: %v allocations", n)
	if n > maxProxiedGETAllocs {
		t.Errorf("a proxied GET costs %v allocations, want at most %d", n, maxProxiedGETAllocs)
	}
}

const maxProxiedGETAllocs = 18
