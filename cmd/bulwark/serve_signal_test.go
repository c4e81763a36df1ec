package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func writeTestCert(t *testing.T, dir string) (string, string) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "site.test"},
		DNSNames: []string{"site.test"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalPKCS8PrivateKey(key)
	c, k := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(c, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(k, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600)
	return c, k
}

// TestServeSignals runs "bulwark serve" in-process: SIGHUP reloads the
// file (an invalid one keeps the running configuration), SIGTERM drains an
// in-flight request and exits 0.
func TestServeSignals(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(500 * time.Millisecond)
		}
		io.WriteString(w, "app")
	}))
	defer app.Close()
	dir := t.TempDir()
	certFile, keyFile := writeTestCert(t, dir)
	httpsAddr := freePort(t)
	conf := func(frame string) string {
		return fmt.Sprintf("[listen]\nhttps = %q\nhttp = \"off\"\nadmin = \"off\"\n[tls]\ncert_file = %q\nkey_file = %q\n"+
			"[upstream]\nurl = %q\n[hosts]\nallowed = [\"site.test\"]\n[headers]\nframe_options = %q\n",
			httpsAddr, certFile, keyFile, app.URL, frame)
	}
	path := filepath.Join(dir, "bulwark.toml")
	os.WriteFile(path, []byte(conf("DENY")), 0o600)

	var stdout, stderr lockedBuffer
	done := make(chan int, 1)
	go func() { done <- run([]string{"serve", "--config", path}, &stdout, &stderr) }()

	var d net.Dialer
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // the test's own self-signed leaf
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "tcp", httpsAddr)
		},
	}}
	get := func(p string) (string, error) {
		resp, err := client.Get("https://site.test" + p)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.Header.Get("X-Frame-Options") + " " + string(b), nil
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for i := 0; i < 250; i++ {
			if cond() {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("timed out waiting for %s; stderr:\n%s", what, stderr.String())
	}
	defer func() {
		// Never leave the server running: a failed test still stops it.
		select {
		case <-done:
		default:
			syscall.Kill(os.Getpid(), syscall.SIGTERM)
			<-done
		}
	}()
	waitFor("the gateway", func() bool { s, err := get("/"); return err == nil && s == "DENY app" })

	os.WriteFile(path, []byte(conf("SAMEORIGIN")), 0o600)
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	waitFor("the reload", func() bool { s, _ := get("/"); return s == "SAMEORIGIN app" })

	os.WriteFile(path, []byte(conf("SAMEORIGIN")+"[hosts.oops]\n"), 0o600)
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	waitFor("config_reload_failed", func() bool { return strings.Contains(stderr.String(), `"event":"config_reload_failed"`) })
	if s, err := get("/"); err != nil || s != "SAMEORIGIN app" {
		t.Fatalf("after a failed reload: %q %v", s, err)
	}

	slow := make(chan string, 1)
	go func() {
		s, err := get("/slow")
		if err != nil {
			s = err.Error()
		}
		slow <- s
	}()
	time.Sleep(150 * time.Millisecond) // the slow request is in flight
	syscall.Kill(os.Getpid(), syscall.SIGTERM)
	if s := <-slow; s != "SAMEORIGIN app" {
		t.Errorf("in-flight request during SIGTERM: %q", s)
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d; stderr:\n%s", code, stderr.String())
		}
		done <- code
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not exit after SIGTERM")
	}
}
