package demo_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/demo"
	"github.com/bulwarkdev/bulwark/internal/localca"
)

// requireOrSkip skips the test when a tool or privilege it needs is
// missing, unless BULWARK_REQUIRE_SERVICES is set (CI), where it fails.
func requireOrSkip(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("BULWARK_REQUIRE_SERVICES") != "" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format+" (set BULWARK_REQUIRE_SERVICES to fail instead)", args...)
}

// running is a demo started for a test.
type running struct {
	demo.Info
	state string
}

// startDemo runs the demo in a temporary state directory on the given
// listen addresses and stops it when the test ends. bindErr, when non-nil,
// receives a bind failure instead of failing the test.
func startDemo(t *testing.T, httpAddr, httpsAddr string, hsts time.Duration) (*running, error) {
	t.Helper()
	state := filepath.Join(t.TempDir(), "state")
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan demo.Info, 1)
	done := make(chan error, 1)
	go func() {
		done <- demo.Run(ctx, demo.Options{
			StateDir:   state,
			HTTPAddr:   httpAddr,
			HTTPSAddr:  httpsAddr,
			HSTSMaxAge: hsts,
			Logger:     testLogger(t),
			Ready:      func(in demo.Info) { ready <- in },
		})
	}()
	select {
	case in := <-ready:
		t.Cleanup(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("demo.Run: %v", err)
				}
			case <-time.After(20 * time.Second):
				t.Errorf("demo did not shut down within 20s")
			}
		})
		return &running{Info: in, state: state}, nil
	case err := <-done:
		cancel()
		if err == nil {
			err = errors.New("demo.Run returned before it was ready")
		}
		return nil, err
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatal("demo not ready within 60s")
		return nil, nil
	}
}

// client returns an HTTP client that trusts the demo's CA, does not follow
// redirects and keeps no cookies (tests handle them explicitly).
func (d *running) client(t *testing.T) *http.Client {
	t.Helper()
	ca, err := localca.Open(d.state)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: ca.Pool()},
			DialContext:     (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			Proxy:           nil,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       20 * time.Second,
	}
}
