package gateway

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
)

// A kept-alive connection that turns out dead when the request is written
// (the upstream closed it, and no peek could tell: net.Pipe has no
// socket) costs the request nothing: it is sent once more on a new
// connection. Each connection here answers once, then closes.
func TestDirectTransportRetriesDeadIdleConn(t *testing.T) {
	var dials atomic.Int32
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr != "app.internal:8000" {
			t.Errorf("dialled %q", addr)
		}
		n := dials.Add(1)
		client, server := net.Pipe()
		go func() {
			defer server.Close()
			r, err := http.ReadRequest(bufio.NewReader(server))
			if err != nil {
				return
			}
			body := fmt.Sprintf("dial %d %s", n, r.URL.Path)
			fmt.Fprintf(server, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		}()
		return client, nil
	}
	target, _ := url.Parse("http://app.internal:8000")
	tr := newDirectTransport(target, dial, &http.Transport{}, UpstreamConfig{MaxIdleConns: 4})
	defer tr.CloseIdleConnections()
	for i, path := range []string{"/a", "/b", "/c"} {
		req, _ := http.NewRequest(http.MethodGet, "http://app.internal:8000"+path, nil)
		res, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if want := fmt.Sprintf("dial %d %s", i+1, path); string(b) != want {
			t.Errorf("GET %s: %q, want %q", path, b, want)
		}
	}
	if n := dials.Load(); n != 3 {
		t.Errorf("%d dials for 3 requests on connections that each answer once", n)
	}
}

// Only bodiless GET, HEAD and OPTIONS to the upstream's own host take the
// direct path; everything else goes to the full transport.
func TestDirectTransportTakes(t *testing.T) {
	target, _ := url.Parse("http://app.internal:8000")
	tr := newDirectTransport(target, nil, &http.Transport{}, UpstreamConfig{MaxIdleConns: 4})
	req := func(method, u string, body io.Reader, hdr ...string) *http.Request {
		r, _ := http.NewRequest(method, u, body)
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		return r
	}
	const app = "http://app.internal:8000/x"
	chunked := req(http.MethodGet, app, nil)
	chunked.TransferEncoding = []string{"chunked"}
	for _, tc := range []struct {
		name string
		r    *http.Request
		want bool
	}{
		{"GET", req(http.MethodGet, app, nil), true},
		{"HEAD", req(http.MethodHead, app, nil), true},
		{"OPTIONS", req(http.MethodOptions, app, nil), true},
		{"POST without a body", req(http.MethodPost, app, nil), false},
		{"DELETE", req(http.MethodDelete, app, nil), false},
		{"GET with a body", req(http.MethodGet, app, bufio.NewReader(nil)), false},
		{"GET upgrade", req(http.MethodGet, app, nil, "Upgrade", "websocket", "Connection", "Upgrade"), false},
		{"GET chunked", chunked, false},
		{"GET to another host", req(http.MethodGet, "http://other:8000/x", nil), false},
		{"GET over https", req(http.MethodGet, "https://app.internal:8000/x", nil), false},
	} {
		if got := tr.direct(tc.r); got != tc.want {
			t.Errorf("%s: direct = %v, want %v", tc.name, got, tc.want)
		}
	}
}
