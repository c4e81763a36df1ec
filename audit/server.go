package audit

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

func checkServer(fs *[]Finding, d Deployment, skipped *[]string) {
	s := d.Server
	checkRedirectPort(fs, s)
	if s.HealthPublicLive {
		*fs = append(*fs, find("BW121", "health.live is set without health.allow_networks"))
	}
	if s.Validate != nil {
		if err := s.Validate(); err != nil && !reported(*fs, err) {
			f := find("BW101", err.Error())
			f.Key = ""
			f.fileErr = isFileError(err)
			*fs = append(*fs, f)
		}
	}
	now := s.Now
	if now.IsZero() {
		now = time.Now()
	}
	switch {
	case (s.CertFile != "" || s.KeyFile != "") && d.SkipFiles:
		*skipped = append(*skipped, "tls.cert_file", "tls.key_file")
	case s.CertFile != "" || s.KeyFile != "":
		checkCertFiles(fs, s, d.Config.Hosts.Allowed, now)
	}
	if a := s.AdminAddr; a != "" && a != "off" && !loopbackAddr(a) {
		*fs = append(*fs, findf("BW106", "listen.admin is %q", a))
	}
	if u, err := url.Parse(s.UpstreamURL); err == nil && u.Scheme == "http" && u.Hostname() != "" && !loopbackHost(u.Hostname()) {
		*fs = append(*fs, findf("BW107", "upstream.url is %q", s.UpstreamURL))
	}
	if s.UpstreamInsecureSkipVerify {
		*fs = append(*fs, find("BW113", "upstream.insecure_skip_verify is set"))
	}
	if s.ReadHeaderTimeout > time.Minute {
		f := findf("BW108", "timeouts.read_header is %v", s.ReadHeaderTimeout)
		f.Key = "timeouts.read_header"
		*fs = append(*fs, f)
	}
	if s.IdleTimeout > 30*time.Minute {
		f := findf("BW108", "timeouts.idle is %v", s.IdleTimeout)
		f.Key = "timeouts.idle"
		*fs = append(*fs, f)
	}
	if s.ACMEHosts != nil {
		allowed := d.Config.Hosts.Allowed
		for _, h := range s.ACMEHosts {
			if !hostAllowed(h, allowed) {
				*fs = append(*fs, findf("BW109", "tls.acme.hosts has %q, which hosts.allowed does not allow", h))
			}
		}
		for _, a := range allowed {
			if a == "*" || strings.HasPrefix(a, ".") {
				continue // patterns: ACME needs exact names, listed separately
			}
			if _, err := netip.ParseAddr(strings.Trim(a, "[]")); err == nil {
				continue // ACME certificates name hosts, not addresses
			}
			if !containsFold(s.ACMEHosts, a) {
				*fs = append(*fs, findf("BW110", "hosts.allowed has %q, which tls.acme.hosts does not list", a))
			}
		}
	}
	if s.NoCSRF {
		*fs = append(*fs, find("BW111", "edge.allow_insecure_no_csrf is set"))
	}
	if s.NoSameSite {
		*fs = append(*fs, find("BW112", "edge.cookies.allow_insecure_no_same_site is set"))
	}
	if s.AdminProfiling {
		*fs = append(*fs, find("BW117", "listen.admin_profiling is set"))
	}
	if len(s.UnderscoreHeaders) > 0 {
		*fs = append(*fs, findf("BW150", "forwarding.allow_underscore_headers lists %q", s.UnderscoreHeaders))
	}
	if len(s.StreamPaths) > 0 {
		*fs = append(*fs, findf("BW116", "buffering.insecure_stream_paths is %q", s.StreamPaths))
	}
	checkRateLimits(fs, d.Config.RateLimit)
	checkCluster(fs, s)
}

// checkCluster looks at the store a fleet of gateways shares.
func checkCluster(fs *[]Finding, s *Server) {
	if !s.ClusterEnabled {
		return
	}
	if u, err := url.Parse(s.ClusterStore); err == nil && u.Host != "" {
		if _, ok := u.User.Password(); ok {
			// Never quote the URL: it holds the password.
			*fs = append(*fs, find("BW130", "cluster.store has a password"))
		}
		clear := u.Scheme == "redis" ||
			((u.Scheme == "postgres" || u.Scheme == "postgresql") && !strings.HasPrefix(u.Query().Get("sslmode"), "verify"))
		if clear && !loopbackHost(u.Hostname()) {
			*fs = append(*fs, findf("BW131", "cluster.store is %s://%s without verified TLS", u.Scheme, u.Host))
		}
	}
	if !s.ClusterTicketsShared {
		*fs = append(*fs, find("BW132", "cluster.ticket_key_secret_env is not set"))
	}
	if s.ClusterTimeout > 5*time.Second {
		*fs = append(*fs, findf("BW133", "cluster.timeout is %v", s.ClusterTimeout))
	}
}

// checkRedirectPort reports a redirect to the plain listener's own port
// (BW115; the gateway refuses to start with it, and the same words make
// BW101 skip it) and one to a port no listener binds (BW120).
func checkRedirectPort(fs *[]Finding, s *Server) {
	rp := s.RedirectPort
	if rp == 0 || s.HTTPAddr == "" || s.HTTPAddr == "off" {
		return
	}
	hp, sp := addrPort(s.HTTPAddr), addrPort(s.HTTPSAddr)
	switch {
	case rp == sp || sp == 0:
	case rp == hp:
		*fs = append(*fs, findf("BW115", "https.redirect_port %d is the port of listen.http %q", rp, s.HTTPAddr))
	default:
		*fs = append(*fs, findf("BW120", "the redirect goes to port %d; listen.https is %q", rp, s.HTTPSAddr))
	}
}

// addrPort is the port of a "host:port" address, or 0.
func addrPort(addr string) int {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		return 0
	}
	return n
}

func checkCertFiles(fs *[]Finding, s *Server, allowed []string, now time.Time) {
	pair, err := tls.LoadX509KeyPair(s.CertFile, s.KeyFile)
	if err != nil {
		key := "tls.cert_file"
		if _, e := os.Stat(s.CertFile); e == nil {
			key = "tls.key_file"
		}
		f := find("BW102", err.Error())
		f.Key = key
		*fs = append(*fs, f)
		return
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		*fs = append(*fs, find("BW102", err.Error()))
		return
	}
	switch {
	case now.After(leaf.NotAfter):
		*fs = append(*fs, findf("BW103", "the certificate expired on %s", leaf.NotAfter.UTC().Format(time.DateOnly)))
	case now.Before(leaf.NotBefore):
		*fs = append(*fs, findf("BW103", "the certificate is valid only from %s", leaf.NotBefore.UTC().Format(time.DateOnly)))
	case leaf.NotAfter.Sub(now) < 30*24*time.Hour:
		*fs = append(*fs, findf("BW104", "the certificate expires on %s", leaf.NotAfter.UTC().Format(time.DateOnly)))
	}
	for _, a := range allowed {
		if a == "*" {
			continue
		}
		name := strings.Trim(strings.TrimPrefix(a, "."), "[]")
		if err := leaf.VerifyHostname(name); err != nil {
			*fs = append(*fs, findf("BW105", "hosts.allowed has %q, which the certificate (%s) does not name", a, strings.Join(leaf.DNSNames, ", ")))
		}
	}
}

// hostAllowed matches a host name against hosts.allowed patterns as the
// hosts package does (exact, or ".domain" for the domain and its
// subdomains), case-insensitively.
func hostAllowed(h string, allowed []string) bool {
	h = strings.ToLower(strings.TrimSuffix(h, "."))
	for _, a := range allowed {
		a = strings.ToLower(a)
		switch {
		case a == "*", a == h:
			return true
		case strings.HasPrefix(a, ".") && (h == a[1:] || strings.HasSuffix(h, a)):
			return true
		}
	}
	return false
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// loopbackAddr reports whether a host:port listens on loopback only.
func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	return err == nil && loopbackHost(host)
}

// loopbackHost reports whether host is "localhost" or a loopback address.
func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// reported reports whether err (the server's validation, which includes
// the library sections, or the chain's) repeats an Error finding already
// made, by what the error is, never by its words: an error of a library
// section says which (a Section method) and is matched with the findings
// on that section or one of its keys; an error of the server about one key
// says which (a Key method, as the gateway's errors do) and is matched
// with the findings on that key. Any other error is new.
func reported(fs []Finding, err error) bool {
	var se interface{ Section() string }
	if errors.As(err, &se) {
		sec := se.Section()
		for _, f := range fs {
			if f.Severity == Error && (f.Key == sec || strings.HasPrefix(f.Key, sec+".")) {
				return true
			}
		}
		return false
	}
	var ke interface{ Key() string }
	if errors.As(err, &ke) {
		key := ke.Key()
		for _, f := range fs {
			if f.Severity == Error && f.Key == key {
				return true
			}
		}
	}
	return false
}
