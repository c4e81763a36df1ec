package testsvc

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// PebbleVersion is the Pebble the CI installs (.ci/run):
//
//	go install github.com/letsencrypt/pebble/v2/cmd/pebble@v2.10.3
const PebbleVersion = "v2.10.3"

// Pebble is a running Pebble, Let's Encrypt's test ACME server, on
// loopback, resolving every name to 127.0.0.1 through a DNS server of the
// test's own. It is stopped when the test ends.
type Pebble struct {
	// DirectoryURL is the ACME directory.
	DirectoryURL string
	// CAFile is a PEM file of the authority of the directory's TLS
	// certificate (made by the test, not Pebble's issuing CA).
	CAFile string
	// ManagementURL serves Pebble's issuing roots (/roots/0).
	ManagementURL string

	client *http.Client
	out    *lockedBuffer
}

// PebbleConfig says where Pebble validates challenges.
type PebbleConfig struct {
	// HTTPPort is where HTTP-01 challenges are fetched (on 127.0.0.1).
	HTTPPort int
	// TLSPort is where TLS-ALPN-01 challenges are checked.
	TLSPort int
}

// PebblePath finds the pebble program: $BULWARK_PEBBLE, then PATH, then
// /tmp/bulwark-ci-bin (where .ci/run installs it).
func PebblePath() (string, error) {
	if p := os.Getenv("BULWARK_PEBBLE"); p != "" {
		return p, nil
	}
	if p, err := exec.LookPath("pebble"); err == nil {
		return p, nil
	}
	p := "/tmp/bulwark-ci-bin/pebble"
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("pebble not found (go install github.com/letsencrypt/pebble/v2/cmd/pebble@%s, or set BULWARK_PEBBLE)", PebbleVersion)
	}
	return p, nil
}

// StartPebble starts Pebble with validation on the given ports, its nonce
// rejection and validation delays off. A missing pebble skips t, or fails
// it when BULWARK_REQUIRE_SERVICES is set.
func StartPebble(t testing.TB, c PebbleConfig) *Pebble {
	t.Helper()
	bin, err := PebblePath()
	if err != nil {
		unavailable(t, "pebble", err)
	}
	dir := t.TempDir()
	caPEM, certPEM, keyPEM := loopbackTLS(t)
	caFile := filepath.Join(dir, "ca.pem")
	for name, b := range map[string][]byte{"ca.pem": caPEM, "cert.pem": certPEM, "key.pem": keyPEM} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	dns := startDNS(t)
	wfe, mgmt := freeLoopbackAddr(t), freeLoopbackAddr(t)
	conf := map[string]any{"pebble": map[string]any{
		"listenAddress":                  wfe,
		"managementListenAddress":        mgmt,
		"certificate":                    filepath.Join(dir, "cert.pem"),
		"privateKey":                     filepath.Join(dir, "key.pem"),
		"httpPort":                       c.HTTPPort,
		"tlsPort":                        c.TLSPort,
		"ocspResponderURL":               "",
		"externalAccountBindingRequired": false,
		"retryAfter":                     map[string]int{"authz": 1, "order": 1},
		"keyAlgorithm":                   "ecdsa",
	}}
	b, _ := json.Marshal(conf)
	confFile := filepath.Join(dir, "pebble.json")
	if err := os.WriteFile(confFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-config", confFile, "-dnsserver", dns)
	cmd.Env = append(os.Environ(),
		"PEBBLE_VA_NOSLEEP=1",      // validate at once
		"PEBBLE_WFE_NONCEREJECT=0", // no random badNonce answers
		"PEBBLE_AUTHZREUSE=0",      // every order gets fresh authorizations
		"PEBBLE_VA_ALWAYS_VALID=0")
	cmd.Dir = dir
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	p := &Pebble{
		DirectoryURL:  "https://" + wfe + "/dir",
		CAFile:        caFile,
		ManagementURL: "https://" + mgmt,
		client:        &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}},
	}
	s := start(t, cmd, wfe, p.DirectoryURL)
	p.out = s.out
	return p
}

// Log returns what Pebble wrote so far.
func (p *Pebble) Log() string { return p.out.String() }

// Orders counts the orders Pebble accepted so far (from its log).
func (p *Pebble) Orders() int { return strings.Count(p.out.String(), "Added order") }

// Roots returns Pebble's issuing root, for verifying what it issued.
func (p *Pebble) Roots(t testing.TB) *x509.CertPool {
	t.Helper()
	res, err := p.client.Get(p.ManagementURL + "/roots/0")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		t.Fatalf("pebble roots: %d %q", res.StatusCode, b)
	}
	return pool
}

// loopbackTLS makes a CA and a certificate it signs for 127.0.0.1 and
// localhost, as PEM.
func loopbackTLS(t testing.TB) (caPEM, certPEM, keyPEM []byte) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bulwark test directory CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalPKCS8PrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb})
}

// startDNS serves DNS over UDP and TCP on one loopback port until t
// ends: every A query is answered 127.0.0.1, every other query with no
// records, so that the ACME server validates names against the local
// gateways and nothing else.
func startDNS(t testing.TB) string {
	t.Helper()
	var (
		pc  net.PacketConn
		tl  net.Listener
		err error
	)
	for range 20 {
		if pc, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		if tl, err = net.Listen("tcp", pc.LocalAddr().String()); err == nil {
			break
		}
		pc.Close()
	}
	if err != nil {
		t.Fatalf("no loopback port free for both UDP and TCP: %v", err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { pc.Close(); tl.Close(); wg.Wait() })
	wg.Add(2)
	go func() {
		defer wg.Done()
		buf := make([]byte, 1500)
		for {
			n, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if out, ok := dnsAnswer(buf[:n]); ok {
				pc.WriteTo(out, addr)
			}
		}
	}()
	go func() {
		defer wg.Done()
		for {
			c, err := tl.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				for {
					var l [2]byte
					if _, err := io.ReadFull(c, l[:]); err != nil {
						return
					}
					q := make([]byte, int(l[0])<<8|int(l[1]))
					if _, err := io.ReadFull(c, q); err != nil {
						return
					}
					out, ok := dnsAnswer(q)
					if !ok {
						return
					}
					c.Write(append([]byte{byte(len(out) >> 8), byte(len(out))}, out...))
				}
			}()
		}
	}()
	return pc.LocalAddr().String()
}

func dnsAnswer(query []byte) ([]byte, bool) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil, false
	}
	q, err := p.Question()
	if err != nil {
		return nil, false
	}
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired})
	b.EnableCompression()
	b.StartQuestions()
	b.Question(q)
	b.StartAnswers()
	if q.Type == dnsmessage.TypeA {
		b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}, dnsmessage.AResource{A: [4]byte{127, 0, 0, 1}})
	}
	out, err := b.Finish()
	return out, err == nil
}

// LoadBalancer is a layer-4 (TCP) load balancer on loopback: connections
// go round-robin to the backends, as a fleet of gateways sees them behind
// one address. Connections that arrive before SetBackends wait for it.
type LoadBalancer struct {
	ln net.Listener

	mu       sync.Mutex
	backends []string
	next     int
	ready    chan struct{}
}

// StartLoadBalancer listens on a free loopback port until t ends.
func StartLoadBalancer(t testing.TB) *LoadBalancer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lb := &LoadBalancer{ln: ln, ready: make(chan struct{})}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				lb.serve(c)
			}()
		}
	}()
	return lb
}

// Port is the port the balancer listens on.
func (lb *LoadBalancer) Port() int { return lb.ln.Addr().(*net.TCPAddr).Port }

// Addr is the balancer's address.
func (lb *LoadBalancer) Addr() string { return lb.ln.Addr().String() }

// SetBackends sets the addresses connections go to (once).
func (lb *LoadBalancer) SetBackends(addrs ...string) {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	lb.backends = append([]string(nil), addrs...)
	close(lb.ready)
}

func (lb *LoadBalancer) serve(c net.Conn) {
	defer c.Close()
	select {
	case <-lb.ready:
	case <-time.After(30 * time.Second):
		return
	}
	lb.mu.Lock()
	addr := lb.backends[lb.next%len(lb.backends)]
	lb.next++
	lb.mu.Unlock()
	b, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return
	}
	defer b.Close()
	c.SetDeadline(time.Now().Add(60 * time.Second))
	b.SetDeadline(time.Now().Add(60 * time.Second))
	done := make(chan struct{}, 2)
	go func() { io.Copy(b, c); b.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
	go func() { io.Copy(c, b); c.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
	<-done
	<-done
}
