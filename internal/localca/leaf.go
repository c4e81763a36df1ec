package localca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Leaf is a server certificate issued by the CA, on disk and in memory.
type Leaf struct {
	// CertFile and KeyFile are the PEM files (the key has mode 0600), for
	// servers configured with paths.
	CertFile, KeyFile string
	// Certificate is the parsed pair, with Leaf set, for tls.Config.
	Certificate tls.Certificate
	// Created is true when the leaf was made now rather than reused.
	Created bool
}

// Issue returns a leaf certificate for names (DNS names or IP addresses;
// the first names the files), reusing the one on disk while it was signed
// by this CA for exactly these names and has more than RenewBefore left.
// Names outside the CA's constraints fail with ErrNotPermitted before
// anything is signed.
func (ca *CA) Issue(names ...string) (*Leaf, error) {
	if len(names) == 0 {
		return nil, errors.New("localca: no names to issue for")
	}
	var dns []string
	var ips []net.IP
	for _, n := range names {
		d, ip, err := ca.checkName(n)
		if err != nil {
			return nil, err
		}
		if ip.IsValid() {
			ips = append(ips, net.IP(ip.AsSlice()))
		} else {
			dns = append(dns, d)
		}
	}
	base := fileBase(names[0])
	certName, keyName := base+".pem", base+"-key.pem"
	leaf := &Leaf{CertFile: filepath.Join(ca.dir, certName), KeyFile: filepath.Join(ca.dir, keyName)}

	root, err := os.OpenRoot(ca.dir)
	if err != nil {
		return nil, fmt.Errorf("localca: %w", err)
	}
	defer root.Close()

	if c, ok := ca.reusable(root, certName, keyName, dns, ips); ok {
		leaf.Certificate = c
		return leaf, nil
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("localca: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{Organization: []string{"Bulwark local certificate"}},
		NotBefore:    now.Add(-time.Hour), // tolerate small clock skew
		NotAfter:     now.Add(LeafLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     dns,
		IPAddresses:  ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, fmt.Errorf("localca: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("localca: %w", err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	if err := writeAtomic(root, keyName, keyPEM, 0o600); err != nil {
		return nil, err
	}
	if err := writeAtomic(root, certName, certPEM, 0o644); err != nil {
		return nil, err
	}
	c, err := leafCert(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("localca: %w", err)
	}
	leaf.Certificate, leaf.Created = c, true
	return leaf, nil
}

// reusable loads the leaf on disk and reports whether it can be served
// again: same names, signed by this CA, key matching, time left.
func (ca *CA) reusable(root *os.Root, certName, keyName string, dns []string, ips []net.IP) (tls.Certificate, bool) {
	certPEM, err := root.ReadFile(certName)
	if err != nil {
		return tls.Certificate{}, false
	}
	keyPEM, err := readKey(root, keyName)
	if err != nil {
		return tls.Certificate{}, false
	}
	c, err := leafCert(certPEM, keyPEM)
	if err != nil || c.Leaf == nil {
		return tls.Certificate{}, false
	}
	l := c.Leaf
	if l.CheckSignatureFrom(ca.cert) != nil ||
		time.Until(l.NotAfter) < RenewBefore || time.Now().Before(l.NotBefore) ||
		!slices.Equal(l.DNSNames, dns) ||
		!slices.EqualFunc(l.IPAddresses, ips, net.IP.Equal) {
		return tls.Certificate{}, false
	}
	return c, true
}

// checkName validates one requested name against the CA's constraints and
// returns it canonical: a lower-case DNS name, or an IP address.
func (ca *CA) checkName(n string) (string, netip.Addr, error) {
	if ip, err := netip.ParseAddr(n); err == nil {
		ip = ip.Unmap()
		if ip.Zone() != "" || !slices.Contains(ca.limits.IPs, ip) {
			return "", netip.Addr{}, fmt.Errorf("%w: %q", ErrNotPermitted, n)
		}
		return "", ip, nil
	}
	d, err := dnsName(n)
	if err != nil {
		return "", netip.Addr{}, err
	}
	if !ca.limits.permitsDNS(d) {
		return "", netip.Addr{}, fmt.Errorf("%w: %q", ErrNotPermitted, n)
	}
	return d, netip.Addr{}, nil
}

// dnsName returns n as a canonical DNS name: lower case, no trailing dot,
// valid labels. No wildcards: a host names itself, and a wildcard leaf is
// one more thing a leaked key would be worth.
func dnsName(n string) (string, error) {
	d := strings.ToLower(strings.TrimSuffix(n, "."))
	if d == "" {
		return "", fmt.Errorf("localca: invalid DNS name %q", n)
	}
	for l := range strings.SplitSeq(d, ".") {
		if !validLabel(l) {
			return "", fmt.Errorf("localca: invalid DNS name %q", n)
		}
	}
	return d, nil
}

func validLabel(l string) bool {
	if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// fileBase turns a name into a file name stem: "localhost", "127.0.0.1",
// "__1" for ::1.
func fileBase(n string) string {
	n = strings.ToLower(n)
	return strings.Map(func(r rune) rune {
		if 'a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '.' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, n)
}
