package bulwark_test

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark"
	"github.com/bulwarkdev/bulwark/headers"
	"github.com/bulwarkdev/bulwark/hosts"
	"github.com/bulwarkdev/bulwark/httpsonly"
	"github.com/bulwarkdev/bulwark/trustedproxy"
)

// deployConfig is a production configuration: the site is example.com, a
// proxy in 10.0.0.0/8 terminates TLS and sends X-Forwarded-Proto. The test
// servers' loopback peers are not that proxy.
func deployConfig() bulwark.Config {
	return bulwark.Config{
		Logger: quiet,
		Proxy:  trustedproxy.Config{Trusted: []string{"10.0.0.0/8"}, SSLHeader: "X-Forwarded-Proto", SSLHeaderValue: "https"},
		Hosts:  hosts.Config{Allowed: []string{"example.com"}},
		HTTPS:  httpsonly.Config{HSTSIncludeSubdomains: true},
	}
}

var app = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	host, _ := bulwark.Host(r)
	fmt.Fprintf(w, "app secure=%v host=%s", bulwark.IsSecure(r), host)
})

// rawRequest sends request bytes as they are (no client-side cleaning of
// the path) and reads the response.
func rawRequest(t *testing.T, addr, req string) *http.Response {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// TestPlainHTTPServer runs the chain on a real HTTP/1.1 listener.
func TestPlainHTTPServer(t *testing.T) {
	b, err := bulwark.New(deployConfig())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(b.Handler(app))
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	long := "/" + strings.Repeat("%C3%A9", 3000) // 16 KiB once re-escaped
	tests := []struct {
		name     string
		req      string
		status   int
		location string
	}{
		{"redirect", "GET /a/b?x=1 HTTP/1.1\r\nHost: example.com\r\n\r\n", 301, "https://example.com/a/b?x=1"},
		{"port kept", "GET / HTTP/1.1\r\nHost: example.com:8080\r\n\r\n", 301, "https://example.com:8080/"},
		{"attack: Host evil refused", "GET / HTTP/1.1\r\nHost: evil.com\r\n\r\n", 400, ""},
		{"attack: X-Forwarded-Host from untrusted peer ignored", "GET / HTTP/1.1\r\nHost: example.com\r\nX-Forwarded-Host: evil.com\r\n\r\n", 301, "https://example.com/"},
		{"attack: spoofed X-Forwarded-Proto still redirected", "GET / HTTP/1.1\r\nHost: example.com\r\nX-Forwarded-Proto: https\r\n\r\n", 301, "https://example.com/"},
		{"attack: //evil.com path", "GET //evil.com HTTP/1.1\r\nHost: example.com\r\n\r\n", 301, "https://example.com//evil.com"},
		{"attack: backslash path", "GET /\\evil.com HTTP/1.1\r\nHost: example.com\r\n\r\n", 301, "https://example.com/%5Cevil.com"},
		{"attack: encoded backslashes", "GET /%5C%5Cevil.com HTTP/1.1\r\nHost: example.com\r\n\r\n", 301, "https://example.com/%5C%5Cevil.com"},
		{"attack: encoded CR LF in path", "GET /a%0D%0ASet-Cookie:%20x=1 HTTP/1.1\r\nHost: example.com\r\n\r\n", 301, "https://example.com/a%0D%0ASet-Cookie:%20x%3D1"},
		{"attack: encoded CR LF in query", "GET /?a=%0D%0AX:1 HTTP/1.1\r\nHost: example.com\r\n\r\n", 301, "https://example.com/?a=%0D%0AX:1"},
		{"attack: absolute-form target with another host", "GET http://evil.com/x HTTP/1.1\r\nHost: example.com\r\n\r\n", 400, ""},
		{"attack: oversized Location", "GET " + long + " HTTP/1.1\r\nHost: example.com\r\n\r\n", 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := rawRequest(t, addr, tt.req)
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d (%q), want %d", resp.StatusCode, body, tt.status)
			}
			if got := resp.Header.Get("Location"); got != tt.location {
				t.Errorf("Location %q, want %q", got, tt.location)
			}
			if got := resp.Header.Get("Strict-Transport-Security"); got != "" {
				t.Errorf("HSTS %q over plain HTTP", got)
			}
			// Refusals and redirects carry the security headers too.
			if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("X-Frame-Options") != "DENY" {
				t.Errorf("security headers missing: %v", resp.Header)
			}
			if tt.status == 400 && strings.TrimSpace(string(body)) != "Bad Request" {
				t.Errorf("400 body %q, want the status text only", body)
			}
		})
	}
}

// TestTLSServers runs the chain over HTTPS with HTTP/1.1 and HTTP/2.
func TestTLSServers(t *testing.T) {
	b, err := bulwark.New(deployConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, h2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("http2=%v", h2), func(t *testing.T) {
			srv := httptest.NewUnstartedServer(b.Handler(app))
			srv.EnableHTTP2 = h2
			srv.StartTLS()
			defer srv.Close()
			client := srv.Client()
			client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			do := func(host string, hdr map[string]string) (*http.Response, string) {
				req, _ := http.NewRequest("GET", srv.URL+"/page", nil)
				req.Host = host
				for k, v := range hdr {
					req.Header.Set(k, v)
				}
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				if wantMajor := map[bool]int{true: 2, false: 1}[h2]; resp.ProtoMajor != wantMajor {
					t.Errorf("protocol %s", resp.Proto)
				}
				return resp, string(body)
			}
			resp, body := do("example.com", nil)
			if resp.StatusCode != 200 || body != "app secure=true host=example.com" {
				t.Fatalf("got %d %q", resp.StatusCode, body)
			}
			if got := resp.Header.Get("Strict-Transport-Security"); got != "max-age=31536000; includeSubDomains" {
				t.Errorf("HSTS %q", got)
			}
			// A client claiming plain HTTP through a header it may not
			// send is not believed either way.
			resp, body = do("example.com", map[string]string{"X-Forwarded-Proto": "http"})
			if resp.StatusCode != 200 || resp.Header.Get("Strict-Transport-Security") == "" {
				t.Errorf("untrusted X-Forwarded-Proto: http changed the outcome: %d %q", resp.StatusCode, body)
			}
			resp, _ = do("evil.com", nil)
			if resp.StatusCode != 400 {
				t.Errorf("Host evil.com over TLS: %d, want 400", resp.StatusCode)
			}
		})
	}
}

// TestTrustedProxy checks that the SSL header counts from a trusted proxy,
// and only from it.
func TestTrustedProxy(t *testing.T) {
	c := deployConfig()
	c.Proxy.Trusted = []string{"loopback"}
	b, err := bulwark.New(c)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(b.Handler(app))
	defer srv.Close()
	resp := rawRequest(t, srv.Listener.Addr().String(), "GET /x HTTP/1.1\r\nHost: example.com\r\nX-Forwarded-Proto: https\r\n\r\n")
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "app secure=true host=example.com" {
		t.Fatalf("trusted proxy's https: %d %q", resp.StatusCode, body)
	}
	if resp.Header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS behind a trusted TLS proxy")
	}
}

func TestAllocsComposedGET(t *testing.T) {
	b, err := bulwark.New(deployConfig())
	if err != nil {
		t.Fatal(err)
	}
	h := b.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r := httptest.NewRequest("GET", "https://example.com/page", nil)
	r.TLS = &tls.ConnectionState{}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 200 {
		t.Fatalf("status %d", w.Code)
	}
	got := testing.AllocsPerRun(200, func() {
		clear(w.Header())
		h.ServeHTTP(w, r)
	})
	// The request's shallow copy with its record, the header values of
	// the headers layer, csrf's state. The HSTS value and the state of
	// limits and csrf live in the record.
	if got > 4 {
		t.Errorf("composed HTTPS GET: %v allocs, want ≤ 4", got)
	}
	t.Logf("composed HTTPS GET: %v allocs", got)
}

func TestAccessorsWithoutChain(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	if _, ok := bulwark.Host(r); ok {
		t.Error("Host validated without the chain")
	}
	if bulwark.IsSecure(r) || bulwark.Nonce(r) != "" || !bulwark.ClientIP(r).IsValid() {
		t.Error("accessors without the chain")
	}
}

func TestNonceThroughChain(t *testing.T) {
	c := deployConfig()
	c.Headers.CSP = headers.Policy{{Name: "script-src", Values: []string{headers.NonceSentinel}}}
	b, err := bulwark.New(c)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "https://example.com/", nil)
	r.TLS = &tls.ConnectionState{}
	w := httptest.NewRecorder()
	b.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, bulwark.Nonce(r)) })).ServeHTTP(w, r)
	if got, want := w.Header().Get("Content-Security-Policy"), "script-src 'nonce-"+w.Body.String()+"'"; len(w.Body.String()) != 22 || got != want {
		t.Errorf("CSP %q, want %q", got, want)
	}
}
