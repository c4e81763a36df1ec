package gateway_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/gateway"
)

const siteHost = "site.test"

// writeCert makes a self-signed certificate for site.test, media.test and
// 127.0.0.1 in dir and returns the cert and key paths and a pool trusting it.
func writeCert(t testing.TB, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: siteHost},
		DNSNames:              []string{siteHost, "media.test", "localhost"},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(c)
	return certFile, keyFile, pool
}

// echoed is what the echo upstream saw.
type echoed struct {
	Method  string
	Host    string
	Path    string
	Query   string
	Header  http.Header
	BodyLen int
	Body    string
}

// upstream is a test app: /echo (the default) answers what it received as
// JSON; /slow sleeps ms milliseconds; /cookies sets the Set-Cookie lines
// given as repeated "c" query parameters; /raw answers without a
// Content-Type; /own-headers sets its own security headers.
type upstream struct {
	*httptest.Server
	hits       atomic.Int64
	healthHost atomic.Value // Host of the last health check
}

func newUpstream(t testing.TB) *upstream {
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			u.hits.Add(1)
		}
		switch r.URL.Path {
		case "/slow":
			ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
			time.Sleep(time.Duration(ms) * time.Millisecond)
			io.WriteString(w, "slow done")
			return
		case "/cookies":
			for _, c := range r.URL.Query()["c"] {
				w.Header().Add("Set-Cookie", c)
			}
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, "cookies")
			return
		case "/raw":
			w.Header()["Content-Type"] = nil // suppress sniffing here: the gateway decides
			io.WriteString(w, "<html><script>alert(1)</script>")
			return
		case "/own-headers":
			w.Header().Set("Strict-Transport-Security", "max-age=60")
			w.Header().Set("X-Frame-Options", "SAMEORIGIN")
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, "own")
			return
		case "/healthz":
			u.healthHost.Store(r.Host + " " + r.Header.Get("X-Forwarded-Proto"))
			io.WriteString(w, "ok")
			return
		}
		body, _ := io.ReadAll(r.Body)
		e := echoed{Method: r.Method, Host: r.Host, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header, BodyLen: len(body)}
		if len(body) <= 256 {
			e.Body = string(body)
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(e)
	}))
	t.Cleanup(u.Close)
	return u
}

// syncBuffer collects log output from concurrent goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// env is a running gateway on loopback.
type env struct {
	t        testing.TB
	g        *gateway.Gateway
	cfg      gateway.Config
	up       *upstream
	pool     *x509.CertPool
	https    string // "https://site.test:port"
	http     string
	admin    string
	client   *http.Client // verifies the test certificate, follows no redirect
	logs     *syncBuffer
	cancel   context.CancelFunc
	done     chan error
	httpsLn  net.Listener
	httpsPrt string
}

// start runs a gateway in front of up (a new echo upstream when nil);
// mutate adjusts the configuration before New.
func start(t testing.TB, up *upstream, mutate func(*gateway.Config)) *env {
	t.Helper()
	if up == nil {
		up = newUpstream(t)
	}
	dir := t.TempDir()
	certFile, keyFile, pool := writeCert(t, dir)
	lns := gateway.Listeners{}
	var err error
	for _, p := range []*net.Listener{&lns.HTTPS, &lns.HTTP, &lns.Admin} {
		if *p, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
	}
	httpsPort := strconv.Itoa(lns.HTTPS.Addr().(*net.TCPAddr).Port)
	httpPort := strconv.Itoa(lns.HTTP.Addr().(*net.TCPAddr).Port)
	cfg := gateway.Config{}
	cfg.Listen = gateway.ListenConfig{HTTPS: "127.0.0.1:0", HTTP: "127.0.0.1:0", Admin: "127.0.0.1:0"}
	cfg.TLS.CertFile, cfg.TLS.KeyFile = certFile, keyFile
	cfg.Upstream.URL = up.URL
	cfg.Upstream.HealthPath = "/healthz"
	cfg.Upstream.HealthInterval = 50 * time.Millisecond
	cfg.Hosts.Allowed = []string{siteHost}
	cfg.HTTPS.RedirectPort, _ = strconv.Atoi(httpsPort)
	cfg.Timeouts.Drain = 5 * time.Second
	if mutate != nil {
		mutate(&cfg)
	}
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	g, err := gateway.New(cfg, logger)
	if err != nil {
		for _, l := range []net.Listener{lns.HTTPS, lns.HTTP, lns.Admin} {
			l.Close()
		}
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &env{t: t, g: g, cfg: cfg, up: up, pool: pool, logs: logs, cancel: cancel, done: make(chan error, 1),
		https: "https://" + siteHost + ":" + httpsPort, http: "http://" + siteHost + ":" + httpPort,
		admin: "http://" + lns.Admin.Addr().String(), httpsLn: lns.HTTPS, httpsPrt: httpsPort}
	go func() { e.done <- g.Serve(ctx, lns) }()
	e.client = e.newClient(false)
	t.Cleanup(e.stop)
	return e
}

func (e *env) stop() {
	e.cancel()
	select {
	case err := <-e.done:
		if err != nil {
			e.t.Errorf("Serve: %v", err)
		}
		e.done <- nil // later stops return at once
	case <-time.After(10 * time.Second):
		e.t.Errorf("Serve did not return after cancel")
	}
}

// dialLoopback resolves every name to 127.0.0.1, keeping the port.
func dialLoopback(ctx context.Context, network, addr string) (net.Conn, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	return d.DialContext(ctx, network, net.JoinHostPort("127.0.0.1", port))
}

func (e *env) newClient(h2 bool) *http.Client {
	tr := &http.Transport{
		DialContext:         dialLoopback,
		TLSClientConfig:     &tls.Config{RootCAs: e.pool},
		ForceAttemptHTTP2:   h2,
		MaxIdleConnsPerHost: 64,
	}
	if !h2 {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	e.t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{
		Transport:     tr,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// do sends a request and returns the response with its body read.
func (e *env) do(req *http.Request) (*http.Response, string) {
	e.t.Helper()
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("reading body: %v", err)
	}
	return resp, string(b)
}

func (e *env) get(url string, hdr ...string) (*http.Response, string) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1]
			continue
		}
		req.Header[hdr[i]] = append(req.Header[hdr[i]], hdr[i+1]) // raw names: underscore variants stay as sent
	}
	return e.do(req)
}

func decodeEcho(t testing.TB, body string) echoed {
	t.Helper()
	var e echoed
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("upstream answer is not the echo: %v: %q", err, body)
	}
	return e
}

// waitFor polls cond for up to 5 s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for i := 0; i < 250; i++ {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
