package localca

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// File names inside the state directory.
const (
	CertFileName = "ca.pem"
	KeyFileName  = "ca-key.pem"
)

// Lifetimes. The CA lives long so that trusting it once is enough; leaves
// live 90 days (well under the 398 days browsers accept) and are renewed by
// Issue once less than RenewBefore remains.
const (
	CALifetime   = 10 * 365 * 24 * time.Hour
	LeafLifetime = 90 * 24 * time.Hour
	RenewBefore  = 30 * 24 * time.Hour
)

// Sentinel errors.
var (
	// ErrNotPermitted is returned by Issue for a name outside the CA's name
	// constraints (anything but localhost, *.localhost, 127.0.0.1 and ::1).
	ErrNotPermitted = errors.New("localca: name not permitted by the CA's name constraints")
	// ErrInsecurePermissions is returned by Open when the state directory or
	// the CA key is accessible to other users.
	ErrInsecurePermissions = errors.New("localca: state directory or key is accessible to other users")
	// ErrForeignCA is returned by Open when the CA on disk is not one this
	// package would make (not a CA, other key type, broader or missing name
	// constraints, key not matching the certificate).
	ErrForeignCA = errors.New("localca: existing CA is not a name-constrained CA for these names")
)

// permittedDNS is the loopback CA's DNS constraint. A DNS constraint
// "localhost" permits localhost and every name under it (RFC 5280 section
// 4.2.1.10), which RFC 6761 reserves for loopback.
var permittedDNS = []string{"localhost"}

// Constraints are the names a CA may vouch for, written into its
// certificate as critical X.509 name constraints: DNS names (each with
// every name below it) and single IP addresses.
type Constraints struct {
	DNS []string
	IPs []netip.Addr
}

// Loopback are the demo CA's constraints: localhost, *.localhost,
// 127.0.0.1 and ::1.
var Loopback = Constraints{DNS: permittedDNS, IPs: []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback()}}

// ConstraintsFor returns the narrowest constraints covering names (DNS
// names or IP addresses, no wildcards): each DNS name and each address
// exactly.
func ConstraintsFor(names ...string) (Constraints, error) {
	var c Constraints
	for _, n := range names {
		if ip, err := netip.ParseAddr(n); err == nil {
			if ip.Zone() != "" {
				return Constraints{}, fmt.Errorf("localca: %q: an address with a zone", n)
			}
			c.IPs = append(c.IPs, ip.Unmap())
			continue
		}
		d, err := dnsName(n)
		if err != nil {
			return Constraints{}, err
		}
		c.DNS = append(c.DNS, d)
	}
	if len(c.DNS) == 0 && len(c.IPs) == 0 {
		return Constraints{}, errors.New("localca: no names")
	}
	return c, nil
}

func (c Constraints) nets() []*net.IPNet {
	var out []*net.IPNet
	for _, ip := range c.IPs {
		bits := ip.BitLen()
		out = append(out, &net.IPNet{IP: net.IP(ip.AsSlice()), Mask: net.CIDRMask(bits, bits)})
	}
	return out
}

// permits reports whether c allows the canonical DNS name d.
func (c Constraints) permitsDNS(d string) bool {
	for _, p := range c.DNS {
		if d == p || strings.HasSuffix(d, "."+p) {
			return true
		}
	}
	return false
}

// CA is a loaded local certificate authority. It is safe for concurrent use.
type CA struct {
	dir     string
	limits  Constraints
	cert    *x509.Certificate
	certPEM []byte
	key     *ecdsa.PrivateKey
	created bool
}

// Open loads the CA kept in dir, creating dir (mode 0700) and a new CA when
// none exists. It refuses a directory or key file accessible to other users
// (ErrInsecurePermissions) and a CA on disk without this package's name
// constraints (ErrForeignCA): a state directory is never trusted blindly.
func Open(dir string) (*CA, error) { return OpenConstrained(dir, Loopback) }

// OpenConstrained is Open for a CA limited to c instead of loopback
// names: a development or staging host's own names. A CA on disk with
// other constraints is refused (ErrForeignCA).
func OpenConstrained(dir string, c Constraints) (*CA, error) {
	if len(c.DNS) == 0 && len(c.IPs) == 0 {
		return nil, errors.New("localca: no name constraints")
	}
	if dir == "" {
		return nil, errors.New("localca: empty state directory")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("localca: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("localca: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("localca: %w", err)
	}
	// A directory others can write lets them swap ca.pem for their own CA
	// (which the user would then trust); one others can read leaks the key
	// if a file's mode is ever loosened. Refuse rather than chmod, so a
	// mistyped --state pointing at a shared directory is noticed.
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %q has mode %v (run: chmod 700 %s)", ErrInsecurePermissions, dir, fi.Mode().Perm(), dir)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("localca: %w", err)
	}
	defer root.Close()

	ca := &CA{dir: dir, limits: c}
	// Two processes may open a new state directory at once (two demos
	// started together). create links the key into place exclusively, so
	// one of them makes the CA and the other waits for its certificate and
	// loads the same pair.
	for attempt := 0; ; attempt++ {
		certPEM, cerr := root.ReadFile(CertFileName)
		keyPEM, kerr := readKey(root, KeyFileName)
		switch {
		case cerr == nil && kerr == nil:
			if err := ca.load(certPEM, keyPEM); err != nil {
				return nil, err
			}
			return ca, nil
		case errors.Is(cerr, fs.ErrNotExist) && errors.Is(kerr, fs.ErrNotExist):
			err := ca.create(root)
			if errors.Is(err, errCreatedElsewhere) {
				continue
			}
			if err != nil {
				return nil, err
			}
			return ca, nil
		case cerr != nil && !errors.Is(cerr, fs.ErrNotExist):
			return nil, fmt.Errorf("localca: %w", cerr)
		case kerr != nil && !errors.Is(kerr, fs.ErrNotExist):
			return nil, kerr
		case errors.Is(cerr, fs.ErrNotExist) && attempt < 50 && fresh(root, KeyFileName):
			// A key just written without its certificate: another
			// process may be between its two writes.
			time.Sleep(100 * time.Millisecond)
		default:
			// Half a CA (one file lost): never overwrite the other half
			// silently, since the user may trust the certificate.
			return nil, fmt.Errorf("localca: %q holds only one of %s and %s; remove it to start over", dir, CertFileName, KeyFileName)
		}
	}
}

// fresh reports whether name was modified in the last few seconds.
func fresh(root *os.Root, name string) bool {
	fi, err := root.Stat(name)
	return err == nil && time.Since(fi.ModTime()) < 10*time.Second
}

// errCreatedElsewhere reports that another process created the CA first.
var errCreatedElsewhere = errors.New("localca: CA created by another process")

// readKey reads a private key file, refusing one readable by other users.
func readKey(root *os.Root, name string) ([]byte, error) {
	fi, err := root.Stat(name)
	if err != nil {
		return nil, fmt.Errorf("localca: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %q has mode %v", ErrInsecurePermissions, name, fi.Mode().Perm())
	}
	b, err := root.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("localca: %w", err)
	}
	return b, nil
}

func (ca *CA) create(root *os.Root) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("localca: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return err
	}
	spki, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return fmt.Errorf("localca: %w", err)
	}
	skid := sha256.Sum256(spki)
	host, _ := os.Hostname()
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			Organization:       []string{"Bulwark local CA"},
			OrganizationalUnit: []string{host},
			CommonName:         "Bulwark local CA " + serial.Text(16)[:8],
		},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(CALifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		// Only leaves below this CA: no intermediate can be minted that
		// would escape the constraints' audit trail.
		MaxPathLenZero: true,
		SubjectKeyId:   skid[:20],
		// Critical, so a client that does not understand name constraints
		// must reject the chain rather than ignore them.
		PermittedDNSDomainsCritical: true,
		PermittedDNSDomains:         ca.limits.DNS,
		PermittedIPRanges:           ca.limits.nets(),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("localca: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("localca: %w", err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	// Key first, linked into place only if no key exists (never replacing
	// one another process just made). A crash between the two writes
	// leaves a key without a certificate, which Open reports instead of
	// guessing.
	tmp, err := writeTemp(root, KeyFileName, keyPEM, 0o600)
	if err != nil {
		return err
	}
	err = root.Link(tmp, KeyFileName)
	root.Remove(tmp)
	if errors.Is(err, fs.ErrExist) {
		return errCreatedElsewhere
	}
	if err != nil {
		return fmt.Errorf("localca: %w", err)
	}
	if err := writeAtomic(root, CertFileName, certPEM, 0o644); err != nil {
		return err
	}
	if err := ca.load(certPEM, keyPEM); err != nil {
		return err
	}
	ca.created = true
	return nil
}

// load parses and checks a CA read from disk.
func (ca *CA) load(certPEM, keyPEM []byte) error {
	cert, err := parseCert(certPEM)
	if err != nil {
		return fmt.Errorf("localca: %s: %w", CertFileName, err)
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return fmt.Errorf("localca: %s: %w", KeyFileName, err)
	}
	switch {
	case !cert.IsCA || !cert.BasicConstraintsValid:
		return fmt.Errorf("%w: not a CA certificate", ErrForeignCA)
	case !key.PublicKey.Equal(cert.PublicKey):
		return fmt.Errorf("%w: key does not match the certificate", ErrForeignCA)
	case !cert.PermittedDNSDomainsCritical || !slices.Equal(cert.PermittedDNSDomains, ca.limits.DNS) ||
		!sameNets(cert.PermittedIPRanges, ca.limits.nets()):
		// A CA with broader (or no) constraints must not be used even if
		// we hold its key: the user trusted something narrower.
		return fmt.Errorf("%w: name constraints differ", ErrForeignCA)
	case time.Now().After(cert.NotAfter):
		return fmt.Errorf("localca: CA in %q expired on %s; remove it to make a new one", ca.dir, cert.NotAfter.Format(time.DateOnly))
	}
	ca.cert, ca.certPEM, ca.key = cert, certPEM, key
	return nil
}

func sameNets(a, b []*net.IPNet) bool {
	return slices.EqualFunc(a, b, func(x, y *net.IPNet) bool { return x.String() == y.String() })
}

// Dir returns the absolute state directory.
func (ca *CA) Dir() string { return ca.dir }

// CertFile returns the path of the CA certificate (PEM), the file users add
// to their trust stores (NODE_EXTRA_CA_CERTS, curl --cacert, a browser's
// certificate manager).
func (ca *CA) CertFile() string { return filepath.Join(ca.dir, CertFileName) }

// Certificate returns the CA certificate. The caller must not modify it.
func (ca *CA) Certificate() *x509.Certificate { return ca.cert }

// CertPEM returns a copy of the CA certificate in PEM form.
func (ca *CA) CertPEM() []byte { return bytes.Clone(ca.certPEM) }

// Pool returns a new pool holding only this CA, for clients that should
// trust it (tests, health checks).
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// Created reports whether Open made this CA now rather than loading it.
func (ca *CA) Created() bool { return ca.created }

// Fingerprint returns the SHA-256 fingerprint of the CA certificate, in the
// colon-separated upper-case hex form certificate managers display.
func (ca *CA) Fingerprint() string {
	sum := sha256.Sum256(ca.cert.Raw)
	var b strings.Builder
	for i, c := range sum {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02X", c)
	}
	return b.String()
}

func parseCert(b []byte) (*x509.Certificate, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM certificate")
	}
	return x509.ParseCertificate(blk.Bytes)
}

func parseKey(b []byte) (*ecdsa.PrivateKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, errors.New("no PEM PKCS #8 private key")
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, err
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok || ek.Curve != elliptic.P256() {
		return nil, errors.New("not an ECDSA P-256 key")
	}
	return ek, nil
}

func randomSerial() (*big.Int, error) {
	// 128 random bits, positive.
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("localca: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}

// writeAtomic writes data to name through a temporary file and a rename, so
// a reader never sees a half-written certificate or key, and the file has
// its final mode from its first byte.
func writeAtomic(root *os.Root, name string, data []byte, perm fs.FileMode) error {
	tmp, err := writeTemp(root, name, data, perm)
	if err != nil {
		return err
	}
	if err := root.Rename(tmp, name); err != nil {
		root.Remove(tmp)
		return fmt.Errorf("localca: %w", err)
	}
	return nil
}

// writeTemp writes data, synced and with mode perm, to a new file with a
// random name beside name, and returns that name.
func writeTemp(root *os.Root, name string, data []byte, perm fs.FileMode) (string, error) {
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := fmt.Sprintf(".%s.%x.tmp", name, rnd)
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return "", fmt.Errorf("localca: %w", err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// The umask may have narrowed perm; make the mode exact.
		err = root.Chmod(tmp, perm)
	}
	if err != nil {
		root.Remove(tmp)
		return "", fmt.Errorf("localca: %w", err)
	}
	return tmp, nil
}

// leafCert returns a tls.Certificate from PEM blocks with Leaf set.
func leafCert(certPEM, keyPEM []byte) (tls.Certificate, error) {
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, err
	}
	return c, nil
}
