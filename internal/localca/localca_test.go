package localca_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwarkdev/bulwark/internal/localca"
)

func stateDir(t *testing.T) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "state")
}

func TestLeafVerifiesAgainstCA(t *testing.T) {
	ca, err := localca.Open(stateDir(t))
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue("localhost", "media.localhost", "127.0.0.1", "::1")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"localhost", "media.localhost", "127.0.0.1", "::1"} {
		_, err := leaf.Certificate.Leaf.Verify(x509.VerifyOptions{
			DNSName: name, Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		})
		if err != nil {
			t.Errorf("Verify(%q): %v", name, err)
		}
	}
	// Names the leaf does not carry must not verify.
	for _, name := range []string{"example.com", "other.localhost", "127.0.0.2"} {
		if _, err := leaf.Certificate.Leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: ca.Pool()}); err == nil {
			t.Errorf("Verify(%q) succeeded for a name the leaf does not carry", name)
		}
	}
	// The files on disk are the same pair.
	if _, err := tls.LoadX509KeyPair(leaf.CertFile, leaf.KeyFile); err != nil {
		t.Fatal(err)
	}
}

func TestTLSHandshakeWithCAPool(t *testing.T) {
	ca, err := localca.Open(stateDir(t))
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue("localhost", "127.0.0.1", "::1")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{leaf.Certificate}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake below
	srv.StartTLS()
	defer srv.Close()

	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}}
	resp, err := client.Get(srv.URL) // https://127.0.0.1:port
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "ok" {
		t.Fatalf("body = %q", body)
	}
	// A client with the system roots only must refuse it.
	plain := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: x509.NewCertPool()}}}
	if resp, err := plain.Get(srv.URL); err == nil {
		resp.Body.Close()
		t.Fatal("handshake succeeded without trusting the CA")
	}
}

func TestIssueRefusesNamesOutsideConstraints(t *testing.T) {
	ca, err := localca.Open(stateDir(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{
		"example.com", "localhost.example.com", "notlocalhost", "evil-localhost",
		"10.0.0.1", "127.0.0.2", "0.0.0.0", "::", "fe80::1%eth0", "::ffff:8.8.8.8",
		"*.localhost", "a..localhost", "-x.localhost", "x_y.localhost",
	} {
		if _, err := ca.Issue("localhost", name); err == nil {
			t.Errorf("Issue(%q) succeeded", name)
		}
	}
	if _, err := ca.Issue("example.com"); !errors.Is(err, localca.ErrNotPermitted) {
		t.Errorf("Issue(example.com) error = %v, want ErrNotPermitted", err)
	}
}

// A leaked CA key must still not be able to vouch for other sites: the
// name constraints in the CA certificate make verifiers refuse the chain.
func TestNameConstraintsRefuseForgedLeaf(t *testing.T) {
	dir := stateDir(t)
	ca, err := localca.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, localca.KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(keyPEM)
	caKey, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		verify string
		dns    []string
		ips    []net.IP
	}{
		{"example.com", "example.com", []string{"example.com"}, nil},
		// One permitted name does not launder the others in the same leaf.
		{"localhost plus a bank", "localhost", []string{"localhost", "bank.example"}, nil},
		{"public IP", "93.184.216.34", nil, []net.IP{net.ParseIP("93.184.216.34")}},
		{"other loopback IP", "127.0.0.2", nil, []net.IP{net.ParseIP("127.0.0.2")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			tmpl := &x509.Certificate{
				SerialNumber: big.NewInt(42),
				Subject:      pkix.Name{CommonName: "forged"},
				NotBefore:    time.Now().Add(-time.Hour),
				NotAfter:     time.Now().Add(time.Hour),
				ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
				DNSNames:     tc.dns,
				IPAddresses:  tc.ips,
			}
			der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Certificate(), &k.PublicKey, caKey)
			if err != nil {
				t.Fatal(err)
			}
			forged, _ := x509.ParseCertificate(der)
			_, err = forged.Verify(x509.VerifyOptions{DNSName: tc.verify, Roots: ca.Pool()})
			var inv x509.CertificateInvalidError
			if !errors.As(err, &inv) || inv.Reason != x509.CANotAuthorizedForThisName {
				t.Fatalf("Verify = %v, want CANotAuthorizedForThisName", err)
			}
		})
	}
}

func TestCAHasCriticalConstraints(t *testing.T) {
	ca, err := localca.Open(stateDir(t))
	if err != nil {
		t.Fatal(err)
	}
	c := ca.Certificate()
	if !c.IsCA || !c.MaxPathLenZero || c.MaxPathLen != 0 {
		t.Errorf("IsCA=%v MaxPathLen=%d MaxPathLenZero=%v", c.IsCA, c.MaxPathLen, c.MaxPathLenZero)
	}
	if !c.PermittedDNSDomainsCritical {
		t.Error("name constraints are not critical")
	}
	if fmt.Sprint(c.PermittedDNSDomains) != "[localhost]" {
		t.Errorf("PermittedDNSDomains = %v", c.PermittedDNSDomains)
	}
	if fmt.Sprint(c.PermittedIPRanges) != "[127.0.0.1/32 ::1/128]" {
		t.Errorf("PermittedIPRanges = %v", c.PermittedIPRanges)
	}
	pub, ok := c.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		t.Errorf("CA key is %T, want ECDSA P-256", c.PublicKey)
	}
}

func TestReusedAcrossRuns(t *testing.T) {
	dir := stateDir(t)
	first, err := localca.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !first.Created() {
		t.Error("first Open did not report a new CA")
	}
	l1, err := first.Issue("localhost", "127.0.0.1", "::1")
	if err != nil {
		t.Fatal(err)
	}
	if !l1.Created {
		t.Error("first Issue did not report a new leaf")
	}

	second, err := localca.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if second.Created() {
		t.Error("second Open made a new CA instead of reusing it")
	}
	if !bytes.Equal(first.CertPEM(), second.CertPEM()) || first.Fingerprint() != second.Fingerprint() {
		t.Error("CA changed across runs")
	}
	l2, err := second.Issue("localhost", "127.0.0.1", "::1")
	if err != nil {
		t.Fatal(err)
	}
	if l2.Created || !bytes.Equal(l1.Certificate.Certificate[0], l2.Certificate.Certificate[0]) {
		t.Error("leaf not reused across runs")
	}
	// Different names: a new leaf under the same file name.
	l3, err := second.Issue("localhost", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if !l3.Created || l3.CertFile != l2.CertFile {
		t.Errorf("changed names: Created=%v file=%s, want a new leaf in %s", l3.Created, l3.CertFile, l2.CertFile)
	}
}

func TestLeafRenewedBeforeExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ca, err := localca.Open(stateDir(t))
		if err != nil {
			t.Fatal(err)
		}
		l1, err := ca.Issue("localhost")
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(localca.LeafLifetime - localca.RenewBefore - time.Hour)
		l2, err := ca.Issue("localhost")
		if err != nil {
			t.Fatal(err)
		}
		if l2.Created {
			t.Fatal("leaf renewed too early")
		}
		time.Sleep(2 * time.Hour)
		l3, err := ca.Issue("localhost")
		if err != nil {
			t.Fatal(err)
		}
		if !l3.Created || bytes.Equal(l1.Certificate.Certificate[0], l3.Certificate.Certificate[0]) {
			t.Fatal("leaf not renewed within RenewBefore of expiry")
		}
	})
}

func TestPermissions(t *testing.T) {
	dir := stateDir(t)
	ca, err := localca.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue("localhost")
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{
		dir:                                     0o700,
		filepath.Join(dir, localca.KeyFileName): 0o600,
		leaf.KeyFile:                            0o600,
		ca.CertFile():                           0o644,
		leaf.CertFile:                           0o644,
	} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v, want %v", filepath.Base(path), got, want)
		}
	}

	// A key readable by others is refused, not used.
	key := filepath.Join(dir, localca.KeyFileName)
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := localca.Open(dir); !errors.Is(err, localca.ErrInsecurePermissions) {
		t.Errorf("Open with a 0644 key: %v, want ErrInsecurePermissions", err)
	}
	os.Chmod(key, 0o600)

	// So is a directory others can enter or write.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := localca.Open(dir); !errors.Is(err, localca.ErrInsecurePermissions) {
		t.Errorf("Open with a 0755 dir: %v, want ErrInsecurePermissions", err)
	}
}

func TestRefusesForeignOrBrokenCA(t *testing.T) {
	// An unconstrained CA planted in the state directory must not be used.
	dir := stateDir(t)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "wide open"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	kder, _ := x509.MarshalPKCS8PrivateKey(k)
	os.WriteFile(filepath.Join(dir, localca.CertFileName), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(filepath.Join(dir, localca.KeyFileName), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
	if _, err := localca.Open(dir); !errors.Is(err, localca.ErrForeignCA) {
		t.Errorf("Open with an unconstrained CA: %v, want ErrForeignCA", err)
	}

	// Half a CA is reported, never overwritten.
	dir2 := stateDir(t)
	if _, err := localca.Open(dir2); err != nil {
		t.Fatal(err)
	}
	certPath := filepath.Join(dir2, localca.CertFileName)
	if err := os.Remove(certPath); err != nil {
		t.Fatal(err)
	}
	// An old orphan (not a CA another process is writing right now).
	old := time.Now().Add(-time.Minute)
	os.Chtimes(filepath.Join(dir2, localca.KeyFileName), old, old)
	if _, err := localca.Open(dir2); err == nil {
		t.Error("Open with only a key succeeded")
	}
	if _, err := os.Stat(certPath); err == nil {
		t.Error("Open recreated a certificate next to an orphaned key")
	}

	// A key that does not match the certificate.
	dir3 := stateDir(t)
	if _, err := localca.Open(dir3); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir3, localca.KeyFileName), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
	if _, err := localca.Open(dir3); !errors.Is(err, localca.ErrForeignCA) {
		t.Errorf("Open with a mismatched key: %v, want ErrForeignCA", err)
	}
}

func ExampleCA_Issue() {
	dir, _ := os.MkdirTemp("", "localca")
	defer os.RemoveAll(dir)
	ca, err := localca.Open(filepath.Join(dir, "state"))
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := ca.Issue("localhost", "127.0.0.1", "::1"); err == nil {
		fmt.Println("localhost: issued")
	}
	_, err = ca.Issue("www.example.com")
	fmt.Println(err)
	// Output:
	// localhost: issued
	// localca: name not permitted by the CA's name constraints: "www.example.com"
}

// Two demos started at once on a new state directory must end up with one
// CA, not a key from one and a certificate from the other.
func TestConcurrentOpenMakesOneCA(t *testing.T) {
	dir := stateDir(t)
	const n = 8
	fps := make(chan string, n)
	errs := make(chan error, n)
	for range n {
		go func() {
			ca, err := localca.Open(dir)
			if err != nil {
				errs <- err
				return
			}
			fps <- ca.Fingerprint()
		}()
	}
	var first string
	for range n {
		select {
		case err := <-errs:
			t.Fatal(err)
		case fp := <-fps:
			if first == "" {
				first = fp
			} else if fp != first {
				t.Fatalf("concurrent Opens made different CAs: %s and %s", first, fp)
			}
		}
	}
	ca, err := localca.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if ca.Fingerprint() != first || ca.Created() {
		t.Error("the CA on disk is not the one every Open returned")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
}
