package audit

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
)

// The TLS probes offer what testssl.sh offers that Go can speak: every
// protocol version from 1.0 to 1.3 and, per version before 1.3, every
// cipher suite of tls.CipherSuites and tls.InsecureCipherSuites one at a
// time (static RSA key exchange, CBC, 3DES and RC4 included), so that a
// server that accepts a weak suite only when it is the only one offered
// is still seen. A version the server refuses with every suite offered is
// not probed suite by suite. The suites are classified as testssl.sh
// does: RC4 and 3DES (SWEET32) are vulnerable, static RSA has no forward
// secrecy, CBC in TLS 1.0 is BEAST and CBC elsewhere obsoleted.

// tlsSuite is one accepted (version, suite) pair.
type tlsSuite struct {
	version uint16
	suite   *tls.CipherSuite
}

// allSuites is every suite Go implements, secure first.
func allSuites() []*tls.CipherSuite {
	return append(tls.CipherSuites(), tls.InsecureCipherSuites()...)
}

func suiteIDs(v uint16) []uint16 {
	var ids []uint16
	for _, cs := range allSuites() {
		if slices.Contains(cs.SupportedVersions, v) {
			ids = append(ids, cs.ID)
		}
	}
	return ids
}

func (s *scanner) checkTLS(ctx context.Context, u *url.URL) {
	port := u.Port()
	if port == "" {
		port = "443"
	}
	addr := net.JoinHostPort(u.Hostname(), port)
	var leaf *x509.Certificate
	keep := func(cs tls.ConnectionState) {
		if leaf == nil && len(cs.PeerCertificates) > 0 {
			leaf = cs.PeerCertificates[0]
		}
	}
	var accepted []tlsSuite
	for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11, tls.VersionTLS12} {
		cs, err := s.handshake(ctx, addr, "tls version", v, suiteIDs(v), nil)
		if err != nil {
			continue
		}
		keep(cs)
		if v < tls.VersionTLS12 {
			s.add(findf("BW223", "%s accepted a %s handshake", addr, tls.VersionName(v)))
		}
		for _, id := range suiteIDs(v) {
			if cs, err := s.handshake(ctx, addr, "tls suite", v, []uint16{id}, nil); err == nil {
				keep(cs)
				accepted = append(accepted, tlsSuite{v, suiteByID(id)})
			}
		}
	}
	if cs, err := s.handshake(ctx, addr, "tls version", tls.VersionTLS13, nil, nil); err == nil {
		keep(cs)
		// Post-quantum key exchange: offered only the hybrid group, the
		// server must pick it or fail.
		if _, err := s.handshake(ctx, addr, "tls post-quantum", tls.VersionTLS13, nil, []tls.CurveID{tls.X25519MLKEM768}); err != nil {
			s.add(findf("BW232", "%s refused a TLS 1.3 handshake offering only X25519MLKEM768", addr))
		}
	} else if len(accepted) > 0 || leaf != nil {
		// Hybrid key exchange exists only in TLS 1.3.
		s.add(findf("BW232", "%s does not accept TLS 1.3, where post-quantum key exchange lives", addr))
	}
	s.classify(addr, accepted)
	if leaf == nil {
		return
	}
	now := s.opts.Now
	switch {
	case s.verifyErr != nil:
		// Already reported by the main probe.
	case now.After(leaf.NotAfter) || now.Before(leaf.NotBefore):
		s.add(findf("BW224", "the certificate is valid from %s to %s", leaf.NotBefore.UTC().Format(time.DateOnly), leaf.NotAfter.UTC().Format(time.DateOnly)))
	case leaf.NotAfter.Sub(now) < 30*24*time.Hour:
		s.add(findf("BW225", "the certificate expires on %s", leaf.NotAfter.UTC().Format(time.DateOnly)))
	}
	if weak := weakCertKey(leaf); weak != "" {
		s.add(findf("BW233", "the certificate's key is %s", weak))
	}
	switch leaf.SignatureAlgorithm {
	case x509.MD2WithRSA, x509.MD5WithRSA, x509.SHA1WithRSA, x509.DSAWithSHA1, x509.ECDSAWithSHA1:
		s.add(findf("BW250", "the certificate is signed with %v", leaf.SignatureAlgorithm))
	}
}

func suiteByID(id uint16) *tls.CipherSuite {
	for _, cs := range allSuites() {
		if cs.ID == id {
			return cs
		}
	}
	return &tls.CipherSuite{ID: id, Name: fmt.Sprintf("0x%04X", id)}
}

// classify reports the accepted suites by weakness, one finding per
// weakness listing the suites.
func (s *scanner) classify(addr string, accepted []tlsSuite) {
	var broken, rsaKex, beast, cbc []string
	once := func(list *[]string, name string) {
		if !slices.Contains(*list, name) {
			*list = append(*list, name)
		}
	}
	for _, a := range accepted {
		n := a.suite.Name
		if strings.Contains(n, "_RC4_") || strings.Contains(n, "_3DES_") {
			once(&broken, n)
		}
		if strings.HasPrefix(n, "TLS_RSA_") {
			once(&rsaKex, n)
		}
		if strings.Contains(n, "_CBC_") {
			if a.version == tls.VersionTLS10 {
				once(&beast, n)
			} else {
				once(&cbc, tls.VersionName(a.version)+" "+n)
			}
		}
	}
	if len(broken) > 0 {
		s.add(findf("BW228", "%s accepts %s", addr, strings.Join(broken, ", ")))
	}
	if len(rsaKex) > 0 {
		s.add(findf("BW229", "%s accepts %s", addr, strings.Join(rsaKex, ", ")))
	}
	if len(beast) > 0 {
		s.add(findf("BW230", "%s accepts CBC in TLS 1.0: %s", addr, strings.Join(beast, ", ")))
	}
	if len(cbc) > 0 {
		s.add(findf("BW231", "%s accepts CBC after TLS 1.0: %s", addr, strings.Join(cbc, ", ")))
	}
}

// weakCertKey describes a certificate key below 2048-bit RSA or 256-bit
// elliptic curves, "" for a strong one.
func weakCertKey(c *x509.Certificate) string {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		if n := k.N.BitLen(); n < 2048 {
			return fmt.Sprintf("RSA %d bits", n)
		}
	case *ecdsa.PublicKey:
		if n := k.Curve.Params().BitSize; n < 256 {
			return fmt.Sprintf("ECDSA %d bits (%s)", n, k.Curve.Params().Name)
		}
	case ed25519.PublicKey:
	}
	return ""
}

// handshake completes a TLS handshake with exactly version v (0: any
// version from 1.0, with every suite), offering suites (nil: the defaults) and
// groups (nil: the defaults), records it as a probe and closes the
// connection.
func (s *scanner) handshake(ctx context.Context, addr, name string, v uint16, suites []uint16, groups []tls.CurveID) (tls.ConnectionState, error) {
	p := Probe{Kind: "tls", Name: name, URL: "tls://" + addr}
	offer := []string{tls.VersionName(v)}
	if len(suites) == 1 {
		offer = append(offer, tls.CipherSuiteName(suites[0]))
	}
	for _, g := range groups {
		offer = append(offer, g.String())
	}
	p.TLS = strings.Join(offer, " ")
	cs, err := s.rawHandshake(ctx, addr, v, suites, groups)
	if err != nil {
		p.Error = err.Error()
	} else if len(suites) != 1 {
		p.TLS += " → " + tls.CipherSuiteName(cs.CipherSuite)
	}
	s.report.Probes = append(s.report.Probes, p)
	return cs, err
}

func (s *scanner) rawHandshake(ctx context.Context, addr string, v uint16, suites []uint16, groups []tls.CurveID) (tls.ConnectionState, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	conn, err := s.dial(ctx, "tcp", addr)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer conn.Close()
	cfg := s.tlsConfig(true) // acceptance of a version, not trust, is measured here
	if v != 0 {
		cfg.MinVersion, cfg.MaxVersion = v, v
	} else {
		// Any TLS at all: every version and suite Go can speak, so that a
		// legacy server is not mistaken for one without TLS.
		cfg.MinVersion = tls.VersionTLS10
		if suites == nil {
			for _, cs := range allSuites() {
				suites = append(suites, cs.ID)
			}
		}
	}
	cfg.CipherSuites = suites
	cfg.CurvePreferences = groups
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return tls.ConnectionState{}, err
	}
	return tc.ConnectionState(), nil
}
