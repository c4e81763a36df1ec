package gateway_test

import (
	"bufio"
	"crypto/tls"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/gateway"
)

// The gateway defers net/http's per-request read-ahead for the direct
// path's requests (readahead.go). This fails if net/http stops making that
// read the way the deferral relies on (a one-byte read of the connection
// while the handler runs), which would make the deferral dead code.
func TestReadAheadDeferred(t *testing.T) {
	e := start(t, nil, nil)
	before := gateway.ReadAheadsDeferred()
	const n = 20
	for i := range n {
		resp, body := e.do(mustRequest(t, http.MethodGet, e.https+"/page"))
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"Path":"/page"`) {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, body)
		}
	}
	// The read-ahead's goroutine may run before the handler starts (then
	// net/http's own read runs, as for every other request): most, not
	// all, are deferred.
	got := gateway.ReadAheadsDeferred() - before
	t.Logf("%d of %d read-aheads deferred", got, n)
	if got < n/2 {
		t.Errorf("%d of %d read-aheads deferred", got, n)
	}
}

func mustRequest(t *testing.T, method, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// Pipelined requests on one HTTP/1 connection are answered in order, in
// full, whether the next request arrives with the first (net/http has it
// buffered) or while the first still runs upstream, past the point where
// the gateway reads the connection itself for a gone client (that read
// takes the next request's first byte, which net/http must still get).
func TestReadAheadPipelined(t *testing.T) {
	e := start(t, nil, nil)
	for _, gap := range []time.Duration{0, 150 * time.Millisecond} {
		t.Run(gap.String(), func(t *testing.T) {
			conn, err := tls.Dial("tcp", e.httpsLn.Addr().String(), &tls.Config{RootCAs: e.pool, ServerName: "site.test", NextProtos: []string{"http/1.1"}})
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			first := "GET /slow?ms=300 HTTP/1.1\r\nHost: site.test\r\n\r\n"
			second := "GET /second?x=1 HTTP/1.1\r\nHost: site.test\r\n\r\n"
			if gap == 0 {
				io.WriteString(conn, first+second)
			} else {
				io.WriteString(conn, first)
				time.Sleep(gap)
				io.WriteString(conn, second)
			}
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			br := bufio.NewReader(conn)
			for i, want := range []string{"slow done", `"Path":"/second"`} {
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("answer %d: %v", i, err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), want) {
					t.Fatalf("answer %d: %d %q, want %q", i, resp.StatusCode, b, want)
				}
			}
			if strings.Contains(e.logs.String(), `"framing`) {
				t.Errorf("framing refusal logged:\n%s", e.logs.String())
			}
		})
	}
}
