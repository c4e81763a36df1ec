package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"

	"golang.org/x/crypto/acme"
)

// cipherSuites are the TLS 1.2 suites offered: ECDHE key exchange (forward
// secrecy) with an AEAD cipher only. No RSA key exchange, no CBC (Lucky13,
// POODLE-style padding oracles), no 3DES or RC4. TLS 1.3 suites are not
// configurable in Go and are all AEAD.
var cipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// CipherSuites returns the TLS 1.2 cipher suites the gateway offers.
func CipherSuites() []uint16 { return slices.Clone(cipherSuites) }

// serverTLS returns the HTTPS listener's TLS configuration: TLS 1.2 (the
// suites above) and 1.3; HTTP/2 is added by net/http when serving.
func serverTLS(get func(*tls.ClientHelloInfo) (*tls.Certificate, error), acmeALPN bool) *tls.Config {
	c := &tls.Config{
		MinVersion:     tls.VersionTLS12,
		CipherSuites:   CipherSuites(),
		GetCertificate: get,
		NextProtos:     []string{"h2", "http/1.1"},
	}
	if acmeALPN {
		// TLS-ALPN-01 challenges arrive on the HTTPS port.
		c.NextProtos = append(c.NextProtos, acme.ALPNProto)
	}
	return c
}

// fileCerts serves a certificate pair read from files, reloadable.
type fileCerts struct {
	certFile, keyFile string
	cur               atomic.Pointer[tls.Certificate]
}

func newFileCerts(certFile, keyFile string) (*fileCerts, error) {
	f := &fileCerts{certFile: certFile, keyFile: keyFile}
	if err := f.reload(); err != nil {
		return nil, err
	}
	return f, nil
}

// reload reads the files again; on error the previous pair stays in use.
func (f *fileCerts) reload() error {
	c, err := tls.LoadX509KeyPair(f.certFile, f.keyFile)
	if err != nil {
		return fmt.Errorf("gateway: loading certificate %q: %w", f.certFile, err)
	}
	f.cur.Store(&c)
	return nil
}

func (f *fileCerts) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return f.cur.Load(), nil
}

// ErrHostNotAllowed is returned by the ACME host policy for a name outside
// tls.acme.hosts.
var ErrHostNotAllowed = errors.New("gateway: host not allowed for ACME")

// HostPolicy returns the ACME host policy for an exact list of names:
// a certificate is requested only for them. A client choosing the SNI name
// must not make the gateway ask the CA for certificates for names of its
// choice (that exhausts rate limits and fills the cache). Matching is
// case-insensitive and ignores a trailing dot.
func HostPolicy(hosts []string) func(ctx context.Context, host string) error {
	allowed := make(map[string]bool, len(hosts))
	for _, h := range hosts {
		allowed[normHost(h)] = true
	}
	return func(_ context.Context, host string) error {
		if !allowed[normHost(host)] {
			return fmt.Errorf("%w: %q", ErrHostNotAllowed, host)
		}
		return nil
	}
}

func normHost(h string) string {
	b := []byte(h)
	for len(b) > 0 && b[len(b)-1] == '.' {
		b = b[:len(b)-1]
	}
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
