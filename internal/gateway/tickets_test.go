package gateway

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"testing"
	"testing/synctest"
	"time"
)

// testCert returns a self-signed certificate for "site.test" and a pool
// trusting it.
func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "site.test"},
		DNSNames:     []string{"site.test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// handshake runs one connection over loopback and reports whether the
// client resumed a session. The server sends a byte and closes, and the
// client reads to the end, so that a TLS 1.3 ticket (sent after the
// handshake) reaches the client's cache.
func handshake(t *testing.T, server, client *tls.Config) bool {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	errc := make(chan error, 1)
	go func() {
		sc, err := ln.Accept()
		if err != nil {
			errc <- err
			return
		}
		s := tls.Server(sc, server)
		err = s.Handshake()
		if err == nil {
			_, err = s.Write([]byte{1})
		}
		s.Close()
		errc <- err
	}()
	c, err := tls.Dial("tcp", ln.Addr().String(), client)
	if err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	defer c.Close()
	if _, err := io.ReadAll(c); err != nil {
		t.Fatalf("client read: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("server: %v", err)
	}
	return c.ConnectionState().DidResume
}

// TestSessionTicketRotation: a ticket resumes a session under the current
// key and, after one rotation, under the previous one; after two it does
// not (its key is gone, where crypto/tls alone would accept it for 7
// days). The rotations are driven directly; TestSessionTicketSchedule
// covers their timing.
func TestSessionTicketRotation(t *testing.T) {
	cert, pool := testCert(t)
	for _, v := range []struct {
		name    string
		version uint16
	}{{"TLS 1.2", tls.VersionTLS12}, {"TLS 1.3", tls.VersionTLS13}} {
		t.Run(v.name, func(t *testing.T) {
			server := serverTLS(func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &cert, nil }, false)
			keys := newTicketKeys(server)
			client := func() *tls.Config {
				return &tls.Config{
					RootCAs: pool, ServerName: "site.test",
					MinVersion: v.version, MaxVersion: v.version,
					ClientSessionCache: tls.NewLRUClientSessionCache(1),
				}
			}
			refreshed, stale := client(), client()
			if handshake(t, server, refreshed) || handshake(t, server, stale) {
				t.Fatal("first connections resumed a session")
			}
			if !handshake(t, server, refreshed) {
				t.Fatal("no resumption under the current key")
			}
			first := keys.current()
			if len(first) != 1 {
				t.Fatalf("%d keys at start, want 1", len(first))
			}

			keys.rotate()
			second := keys.current()
			if len(second) != 2 || second[1] != first[0] || second[0] == first[0] {
				t.Fatalf("after one rotation: want a fresh key then the previous one")
			}
			// Its ticket is under the previous key, still accepted; the
			// server answers with a ticket under the new key.
			if !handshake(t, server, refreshed) {
				t.Fatal("no resumption under the previous key")
			}

			keys.rotate()
			third := keys.current()
			if len(third) != ticketKeysKept || third[1] != second[0] || third[0] == second[0] {
				t.Fatalf("after two rotations: want a fresh key then the previous one, %d kept", ticketKeysKept)
			}
			// Its ticket's key was dropped: a full handshake.
			if handshake(t, server, stale) {
				t.Fatal("a ticket under a dropped key resumed a session")
			}
			// The ticket issued after the first rotation still resumes.
			if !handshake(t, server, refreshed) {
				t.Fatal("no resumption with a ticket from the previous interval")
			}
		})
	}
}

// TestSessionTicketSchedule: with synctest's clock, a fresh key arrives
// every interval and not before; stop ends the goroutine (synctest.Test
// fails on a goroutine left blocked) and no key changes afterwards.
func TestSessionTicketSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const every = 24 * time.Hour
		keys := newTicketKeys(&tls.Config{})
		stop := keys.start(every)
		k0 := keys.current()

		time.Sleep(every - time.Second)
		synctest.Wait()
		if k := keys.current(); len(k) != 1 || k[0] != k0[0] {
			t.Fatalf("rotated before the interval")
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		k1 := keys.current()
		if len(k1) != 2 || k1[1] != k0[0] {
			t.Fatalf("no rotation after one interval")
		}
		time.Sleep(every)
		synctest.Wait()
		k2 := keys.current()
		if len(k2) != ticketKeysKept || k2[1] != k1[0] {
			t.Fatalf("no rotation after two intervals")
		}

		stop()
		time.Sleep(10 * every)
		synctest.Wait()
		if k := keys.current(); k[0] != k2[0] {
			t.Errorf("keys changed after stop")
		}
	})
}
