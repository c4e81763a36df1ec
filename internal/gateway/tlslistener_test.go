package gateway_test

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestTLSListener: the HTTPS listener completes handshakes itself; HTTP/1
// and HTTP/2 are both served with the connection's TLS state, a session
// ticket resumes a session, and a client that never finishes its
// handshake does not hold up others.
func TestTLSListener(t *testing.T) {
	e := start(t, nil, nil)
	// A stalled handshake first: it must not block the accept of others.
	stall, err := net.Dial("tcp", e.httpsLn.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer stall.Close()

	for _, h2 := range []bool{false, true} {
		resp, err := e.newClient(h2).Get(e.https + "/echo")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.TLS == nil {
			t.Fatalf("h2=%v: status %d %q", h2, resp.StatusCode, b)
		}
		if wantMajor := map[bool]int{false: 1, true: 2}[h2]; resp.ProtoMajor != wantMajor {
			t.Errorf("h2=%v: protocol %s", h2, resp.Proto)
		}
		// The edge saw TLS: HSTS is sent and the upstream was told https.
		if resp.Header.Get("Strict-Transport-Security") == "" {
			t.Errorf("h2=%v: no HSTS on an HTTPS answer", h2)
		}
		if got := decodeEcho(t, string(b)); got.Header.Get("X-Forwarded-Proto") != "https" {
			t.Errorf("h2=%v: X-Forwarded-Proto %q", h2, got.Header.Get("X-Forwarded-Proto"))
		}
	}

	cache := tls.NewLRUClientSessionCache(4)
	resumed := func() bool {
		conn, err := tls.Dial("tcp", e.httpsLn.Addr().String(), &tls.Config{RootCAs: e.pool, ServerName: siteHost, NextProtos: []string{"http/1.1"}, ClientSessionCache: cache})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		io.WriteString(conn, "GET /echo HTTP/1.1\r\nHost: "+siteHost+":"+e.httpsPrt+"\r\nConnection: close\r\n\r\n")
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return conn.ConnectionState().DidResume
	}
	if resumed() {
		t.Error("the first connection resumed a session")
	}
	if !resumed() {
		t.Error("a session ticket from the gateway did not resume a session")
	}
}
