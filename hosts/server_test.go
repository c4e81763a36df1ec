package hosts_test

import (
	"bufio"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/hosts"
	"github.com/bulwarkdev/bulwark/trustedproxy"
)

// seen is what the application behind the chain observed.
type seen struct {
	Client, Scheme, Host, RawHost string
	Proto                         int
}

func chain(t *testing.T, pc trustedproxy.Config, hc hosts.Config) http.Handler {
	t.Helper()
	pc.Logger = slog.New(slog.DiscardHandler)
	hc.Logger = slog.New(slog.DiscardHandler)
	tp, err := trustedproxy.New(pc)
	if err != nil {
		t.Fatal(err)
	}
	hv, err := hosts.New(hc)
	if err != nil {
		t.Fatal(err)
	}
	return tp.Handler(hv.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, ok := hosts.Host(r)
		if !ok {
			http.Error(w, "host not validated", http.StatusInternalServerError)
			return
		}
		json.NewEncoder(w).Encode(seen{
			Client: trustedproxy.ClientIP(r).String(), Scheme: trustedproxy.Scheme(r),
			Host: h, RawHost: r.Host, Proto: r.ProtoMajor,
		})
	})))
}

type transport struct {
	name   string
	scheme string
	proto  int
	start  func(http.Handler) *httptest.Server
}

var transports = []transport{
	{"HTTP/1.1", "http", 1, httptest.NewServer},
	{"HTTPS", "https", 1, httptest.NewTLSServer},
	{"HTTP/2", "https", 2, func(h http.Handler) *httptest.Server {
		s := httptest.NewUnstartedServer(h)
		s.EnableHTTP2 = true
		s.StartTLS()
		return s
	}},
}

// TestChainOverTransports runs trustedproxy and hosts in front of an
// application over real HTTP/1.1, HTTPS and HTTP/2 connections from
// 127.0.0.1.
func TestChainOverTransports(t *testing.T) {
	direct := trustedproxy.Config{}
	behindLoopback := trustedproxy.Config{
		Trusted: []string{"loopback"}, SSLHeader: "X-Forwarded-Proto", SSLHeaderValue: "https", UseForwardedHost: true,
	}
	allowed := hosts.Config{Allowed: []string{"127.0.0.1", "app.example"}}

	tests := []struct {
		name    string
		proxy   trustedproxy.Config
		host    string // "" keeps the server's address
		headers map[string][]string
		status  int
		want    func(tr transport, s seen) bool
	}{
		{name: "direct request", proxy: direct, status: 200,
			want: func(tr transport, s seen) bool {
				return s.Client == "127.0.0.1" && s.Scheme == tr.scheme && s.Proto == tr.proto
			}},
		{name: "attack: spoofed forwarded headers from an untrusted peer are ignored", proxy: direct, status: 200,
			headers: map[string][]string{
				"X-Forwarded-For": {"192.0.2.66"}, "X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"evil.example"},
				"Forwarded": {"for=192.0.2.66;proto=https;host=evil.example"}, "X-Forwarded-Port": {"443"},
			},
			want: func(tr transport, s seen) bool {
				return s.Client == "127.0.0.1" && s.Scheme == tr.scheme && strings.HasPrefix(s.Host, "127.0.0.1:")
			}},
		{name: "attack: Host evil is refused", proxy: direct, host: "evil.example", status: 400},
		{name: "attack: Host evil with a forged X-Forwarded-Host of an allowed name is refused", proxy: direct, host: "evil.example",
			headers: map[string][]string{"X-Forwarded-Host": {"app.example"}}, status: 400},
		{name: "attack: Host good with a forged X-Forwarded-Host from an untrusted peer", proxy: direct, host: "app.example",
			headers: map[string][]string{"X-Forwarded-Host": {"evil.example"}}, status: 200,
			want: func(tr transport, s seen) bool { return s.Host == "app.example" }},
		{name: "attack: v4-mapped metadata address as Host", proxy: direct, host: "[::ffff:169.254.169.254]", status: 400},
		{name: "attack: underscore alias of the SSL header", proxy: behindLoopback,
			headers: map[string][]string{"X_Forwarded_Proto": {"https"}}, status: 200,
			want: func(tr transport, s seen) bool { return s.Scheme == tr.scheme }},
		{name: "trusted proxy: client, scheme and host forwarded", proxy: behindLoopback, host: "internal.example",
			headers: map[string][]string{"X-Forwarded-For": {"192.0.2.66, 203.0.113.7"}, "X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"app.example"}},
			status:  200,
			want: func(tr transport, s seen) bool {
				return s.Client == "203.0.113.7" && s.Scheme == "https" && s.Host == "app.example" && s.RawHost == "internal.example"
			}},
		{name: "trusted proxy: SSL header overrides TLS downwards", proxy: behindLoopback,
			headers: map[string][]string{"X-Forwarded-Proto": {"http"}}, status: 200,
			want: func(tr transport, s seen) bool { return s.Scheme == "http" }},
		{name: "attack: trusted proxy forwarding a disallowed host is refused", proxy: behindLoopback,
			headers: map[string][]string{"X-Forwarded-Host": {"evil.example"}}, status: 400},
		{name: "attack: trusted proxy forwarding an empty host is refused", proxy: behindLoopback,
			headers: map[string][]string{"X-Forwarded-Host": {""}}, status: 400},
		{name: "attack: malformed chain from a trusted proxy is refused", proxy: behindLoopback,
			headers: map[string][]string{"X-Forwarded-For": {"203.0.113.7, garbage"}}, status: 400},
		{name: "attack: oversized chain from a trusted proxy is refused", proxy: behindLoopback,
			headers: map[string][]string{"X-Forwarded-For": {strings.Repeat("203.0.113.7, ", 1000) + "203.0.113.7"}}, status: 400},
		{name: "duplicate chain lines merged", proxy: behindLoopback,
			headers: map[string][]string{"X-Forwarded-For": {"192.0.2.66", "203.0.113.7"}}, status: 200,
			want: func(tr transport, s seen) bool { return s.Client == "203.0.113.7" }},
	}
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					srv := tr.start(chain(t, tt.proxy, allowed))
					defer srv.Close()
					req, err := http.NewRequest(http.MethodGet, srv.URL+"/p", nil)
					if err != nil {
						t.Fatal(err)
					}
					if tt.host != "" {
						req.Host = tt.host
					}
					for k, vs := range tt.headers {
						req.Header[k] = vs
					}
					resp, err := srv.Client().Do(req)
					if err != nil {
						t.Fatal(err)
					}
					defer resp.Body.Close()
					body, _ := io.ReadAll(resp.Body)
					if resp.StatusCode != tt.status {
						t.Fatalf("status %d, want %d (%s)", resp.StatusCode, tt.status, body)
					}
					if resp.ProtoMajor != tr.proto {
						t.Fatalf("response over HTTP/%d, want HTTP/%d", resp.ProtoMajor, tr.proto)
					}
					if tt.status != 200 {
						if strings.TrimSpace(string(body)) != http.StatusText(tt.status) {
							t.Errorf("body %q, want the status text", body)
						}
						return
					}
					var s seen
					if err := json.Unmarshal(body, &s); err != nil {
						t.Fatal(err)
					}
					if tt.want != nil && !tt.want(tr, s) {
						t.Errorf("application saw %+v", s)
					}
				})
			}
		})
	}
}

// rawRequest sends a request as raw bytes over TCP and returns the status
// line and body.
func rawRequest(t *testing.T, addr, request string) (string, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, request); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.Status, string(body)
}

// TestAbsoluteFormTarget: in "GET http://evil/ HTTP/1.1" the target's host
// overrides the Host header (RFC 9112 section 3.2.2), and Go sets r.Host
// from it. That host is the one validated, so a request aimed at evil with
// an innocent Host header is refused, and one aimed at the site with a
// hostile Host header is served as the site.
func TestAbsoluteFormTarget(t *testing.T) {
	srv := httptest.NewServer(chain(t, trustedproxy.Config{}, hosts.Config{Allowed: []string{"app.example"}}))
	defer srv.Close()
	addr := srv.Listener.Addr().String()

	status, body := rawRequest(t, addr, "GET http://evil.example/ HTTP/1.1\r\nHost: app.example\r\nConnection: close\r\n\r\n")
	if !strings.HasPrefix(status, "400") || strings.TrimSpace(body) != "Bad Request" {
		t.Errorf("absolute-form evil target: %s %q, want 400", status, body)
	}
	status, body = rawRequest(t, addr, "GET http://app.example/ HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n")
	var s seen
	if !strings.HasPrefix(status, "200") || json.Unmarshal([]byte(body), &s) != nil || s.Host != "app.example" {
		t.Errorf("absolute-form site target: %s %q, want 200 for app.example", status, body)
	}
	status, _ = rawRequest(t, addr, "GET / HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n")
	if !strings.HasPrefix(status, "400") {
		t.Errorf("origin-form evil Host: %s, want 400", status)
	}
	status, _ = rawRequest(t, addr, "GET / HTTP/1.0\r\n\r\n")
	if !strings.HasPrefix(status, "400") {
		t.Errorf("HTTP/1.0 without Host: %s, want 400", status)
	}
}
