package csrf

import (
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"golang.org/x/net/idna"

	"github.com/bulwarkdev/bulwark/hosts"
	"github.com/bulwarkdev/bulwark/trustedproxy"
)

// origin is a parsed web origin (RFC 6454): scheme, host and port, each in
// canonical form, so two spellings of one origin compare equal and two
// origins compare equal only when the browser would treat them as one.
type origin struct {
	scheme string // as written; compare with strings.EqualFold
	host   string // lower-case; one trailing dot removed; IPv6 bracketed
	port   int    // explicit or the scheme's default; 0 when neither
}

// defaultPort returns the default port of the schemes an Origin can carry
// in practice; other schemes have none.
func defaultPort(scheme string) int {
	switch {
	case strings.EqualFold(scheme, "https"), strings.EqualFold(scheme, "wss"):
		return 443
	case strings.EqualFold(scheme, "http"), strings.EqualFold(scheme, "ws"):
		return 80
	}
	return 0
}

// parseOrigin parses an Origin header value, or a configured trusted origin,
// of the form scheme "://" host [ ":" port ]. Anything else is refused: a
// path, even "/", a query, a fragment, user info, whitespace, an empty host,
// a port out of range, non-ASCII (browsers send IDNA A-labels), and the
// opaque origin "null". The host grammar is Django's split_domain_port.
//
// It does not allocate unless the host has upper-case letters.
func parseOrigin(s string) (origin, bool) {
	i := strings.Index(s, "://")
	if i <= 0 || !validScheme(s[:i]) {
		return origin{}, false
	}
	scheme, rest := s[:i], s[i+3:]
	// SplitDomainPort refuses '/', '?', '#', '@', '\\', spaces and any byte
	// outside [A-Za-z0-9.-] in the host, and anything but digits in the port.
	domain, port := hosts.SplitDomainPort(rest)
	// SplitDomainPort drops one trailing dot, as Django does: a domain
	// still ending in one ("x..", "..") has an empty label no browser
	// sends, and its canonical form would not parse back to itself.
	if domain == "" || domain[len(domain)-1] == '.' {
		return origin{}, false
	}
	o := origin{scheme: scheme, host: domain}
	if port == "" {
		o.port = defaultPort(scheme)
	} else {
		n, ok := parsePort(port)
		if !ok {
			return origin{}, false
		}
		o.port = n
	}
	return o, true
}

func validScheme(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		switch {
		case c >= 'a' && c <= 'z':
		case i > 0 && (s[i] >= '0' && s[i] <= '9' || s[i] == '+' || s[i] == '-' || s[i] == '.'):
		default:
			return false
		}
	}
	return true
}

// parsePort parses 1 to 5 decimal digits (leading zeros allowed, as URL
// parsers do) into 1..65535.
func parsePort(p string) (int, bool) {
	if p == "" {
		return 0, false
	}
	for len(p) > 1 && p[0] == '0' {
		p = p[1:]
	}
	if len(p) > 5 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return 0, false
		}
		n = n*10 + int(p[i]-'0')
	}
	if n < 1 || n > 65535 {
		return 0, false
	}
	return n, true
}

// sameHost compares two canonical hosts. IPv6 literals are compared as
// addresses, so [::1] and [0:0::1] are one host.
func sameHost(a, b string) bool {
	if a == b {
		return true
	}
	if len(a) > 2 && a[0] == '[' && len(b) > 2 && b[0] == '[' {
		x, err1 := netip.ParseAddr(a[1 : len(a)-1])
		y, err2 := netip.ParseAddr(b[1 : len(b)-1])
		return err1 == nil && err2 == nil && x == y
	}
	return false
}

func (o origin) equal(p origin) bool {
	return o.port == p.port && strings.EqualFold(o.scheme, p.scheme) && sameHost(o.host, p.host)
}

// String serialises o canonically: lower-case scheme and host, the port
// only when it is not the scheme's default.
func (o origin) String() string {
	s := strings.ToLower(o.scheme) + "://" + o.host
	if o.port != 0 && o.port != defaultPort(o.scheme) {
		s += ":" + strconv.Itoa(o.port)
	}
	return s
}

// ownOrigin returns the origin the request was addressed to: the scheme
// established by trustedproxy (so a TLS-terminating proxy in front still
// yields https) and the validated host from package hosts (hosts.Host, read
// here from the same facts to keep to one context lookup), or, when the
// hosts layer did not run, the raw host. The raw host is safe here: in a
// cross-site request forgery the victim's browser writes the Host header,
// so an attacker cannot make it match their own Origin.
//
// ok is false when there is no usable host, including a host the hosts
// layer examined and refused: no Origin can then be same-origin.
func ownOrigin(r *http.Request, f *trustedproxy.Facts) (o origin, ok bool) {
	scheme := f.Scheme
	host, validated := hosts.Host(r)
	if !validated {
		host = f.Host
	}
	domain, port := hosts.SplitDomainPort(host)
	if domain == "" {
		return origin{}, false
	}
	o = origin{scheme: scheme, host: domain, port: defaultPort(scheme)}
	if port != "" {
		if o.port, ok = parsePort(port); !ok {
			return origin{}, false
		}
	}
	return o, true
}

// trustedOrigin is one entry of Config.TrustedOrigins, parsed. A wildcard
// entry ("https://*.example.com") matches the domain and every subdomain at
// any depth, on a dot boundary, with the same scheme and port: Django's
// CSRF_TRUSTED_ORIGINS semantics (d.7), including the apex.
type trustedOrigin struct {
	origin
	wildcard bool // host is the suffix pattern ".example.com"
}

func (t *trustedOrigin) matches(o origin) bool {
	if !t.wildcard {
		return t.origin.equal(o)
	}
	return o.port == t.port && strings.EqualFold(o.scheme, t.scheme) && hosts.IsSameDomain(o.host, t.host)
}

// parseTrusted validates and canonicalises a configured trusted origin.
// Unlike Django, which silently never matches a malformed entry (a path, a
// trailing slash), Bulwark refuses it at New, where the mistake is cheap.
// Internationalised host names are converted to their IDNA A-labels.
func parseTrusted(s string) (trustedOrigin, string, error) {
	i := strings.Index(s, "://")
	if i <= 0 || !validScheme(s[:i]) {
		return trustedOrigin{}, "", fmt.Errorf("%w: trusted_origins: %q: want scheme://host[:port], e.g. https://example.com", ErrConfig, s)
	}
	scheme, hostport := strings.ToLower(s[:i]), s[i+3:]
	if strings.ContainsAny(hostport, "/?#@") {
		return trustedOrigin{}, "", fmt.Errorf("%w: trusted_origins: %q: an origin has no path (not even \"/\"), query or user info", ErrConfig, s)
	}
	var t trustedOrigin
	if rest, ok := strings.CutPrefix(hostport, "*."); ok {
		t.wildcard = true
		hostport = rest
	} else if strings.Contains(hostport, "*") {
		return trustedOrigin{}, "", fmt.Errorf("%w: trusted_origins: %q: a wildcard must be the whole leftmost label (*.example.com)", ErrConfig, s)
	}
	// IDNA: split off the port by the last colon outside brackets, convert
	// the name, then validate the whole with the Origin grammar.
	name, port := hostport, ""
	if j := strings.LastIndexByte(hostport, ':'); j >= 0 && !strings.Contains(hostport[j:], "]") {
		name, port = hostport[:j], hostport[j:]
	}
	if !strings.HasPrefix(name, "[") {
		ascii, err := idna.Lookup.ToASCII(name)
		if err != nil {
			return trustedOrigin{}, "", fmt.Errorf("%w: trusted_origins: %q: host is not a valid domain name: %v", ErrConfig, s, err)
		}
		name = ascii
	}
	o, ok := parseOrigin(scheme + "://" + name + port)
	if !ok {
		return trustedOrigin{}, "", fmt.Errorf("%w: trusted_origins: %q: want scheme://host[:port] with no path, query or user info", ErrConfig, s)
	}
	o.scheme = scheme
	t.origin = o
	if t.wildcard {
		t.host = "." + o.host
		if o.host[0] == '[' {
			return trustedOrigin{}, "", fmt.Errorf("%w: trusted_origins: %q: a wildcard cannot apply to an IP address", ErrConfig, s)
		}
	}
	// The Referer check matches Django's way: against the netloc, with the
	// wildcard star removed and the scheme ignored (d.6 step 4).
	refHost := name + port
	if t.wildcard {
		refHost = "." + refHost
	}
	return t, refHost, nil
}

// Fetch Metadata and Origin layer.

// safeMethod reports Django's safe methods (RFC 9110 section 9.2.1), which
// are never checked: GET, HEAD, OPTIONS and TRACE. Applications must not
// change state on them.
func safeMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return false
}

// originVerdict is the outcome of the Fetch Metadata and Origin layer.
type originVerdict uint8

const (
	// verdictNoSignal: neither Sec-Fetch-Site nor Origin; the request is
	// same-origin from an old browser, or not from a browser at all.
	verdictNoSignal originVerdict = iota
	// verdictBrowserOK: the browser vouched for the request (Sec-Fetch-Site
	// same-origin or none) or sent a same-origin or trusted Origin.
	verdictBrowserOK
	verdictRefused
)

// checkOrigin is the always-on layer, modelled on net/http's
// CrossOriginProtection with three differences: TRACE is safe (as in
// Django), the Origin is compared as a parsed origin including the scheme
// (CrossOriginProtection compares hosts only and fails open on an
// http-to-https mismatch), and trusted origins may be wildcards.
func (p *Protection) checkOrigin(r *http.Request, f *trustedproxy.Facts) (originVerdict, *Error) {
	vals, hasOrigin := r.Header["Origin"]
	// Two Origin headers are not something a browser sends; a proxy may have
	// merged requests or an attacker is probing for a parser difference.
	// Either way the value is ambiguous: refuse it rather than pick one.
	originValue := ""
	if hasOrigin {
		if len(vals) != 1 {
			return verdictRefused, errBadOrigin(strings.Join(vals, ", "))
		}
		originValue = vals[0]
	}
	site, hasSite := r.Header["Sec-Fetch-Site"]
	if hasSite {
		v := ""
		if len(site) == 1 {
			v = site[0]
		}
		switch v {
		case "same-origin", "none":
			// The browser computed this from the initiator's origin; a page
			// cannot set or change a Sec- header. "none" is a user-initiated
			// navigation (address bar, bookmark).
			return verdictBrowserOK, nil
		case "same-site", "cross-site":
			// Another origin initiated it. A sibling subdomain is "same-site"
			// and is refused like any other origin unless it is trusted:
			// subdomains are where cookie tossing comes from.
			if hasOrigin && p.trustedOrigin(originValue) {
				return verdictBrowserOK, nil
			}
			if hasOrigin {
				return verdictRefused, errBadOrigin(originValue)
			}
			if v == "same-site" {
				return verdictRefused, &Error{Reason: reasonSameSite, Err: ErrCrossOrigin}
			}
			return verdictRefused, &Error{Reason: reasonCrossSite, Err: ErrCrossOrigin}
		default:
			// Unknown or repeated values: fail closed unless the Origin is
			// explicitly trusted.
			if hasOrigin && p.trustedOrigin(originValue) {
				return verdictBrowserOK, nil
			}
			return verdictRefused, &Error{Reason: reasonUnknownSite, Err: ErrCrossOrigin}
		}
	}
	if !hasOrigin {
		return verdictNoSignal, nil
	}
	// No Sec-Fetch-Site (a browser from before 2023, or a client that sends
	// only Origin): compare the Origin with our own origin, as parsed
	// origins, then with the trusted origins. "null" and "" never match.
	o, ok := parseOrigin(originValue)
	var own origin
	haveOwn := false
	if ok {
		if own, haveOwn = ownOrigin(r, f); haveOwn && own.equal(o) {
			return verdictBrowserOK, nil
		}
		for i := range p.trusted {
			if p.trusted[i].matches(o) {
				return verdictBrowserOK, nil
			}
		}
	}
	err := errBadOrigin(originValue)
	if ok && haveOwn && sameHost(o.host, own.host) && !strings.EqualFold(o.scheme, own.scheme) {
		// Our own host under another scheme: either a downgrade attempt or,
		// far more often, TLS terminated by a proxy that is not trusted
		// (Django's weak point: this misconfiguration fails silently).
		err.hint = "the Origin names this host with scheme " + strings.ToLower(o.scheme) + " but the request arrived as " + own.scheme + ": if a TLS-terminating proxy is in front, list it in the proxy's trusted networks"
	}
	return verdictRefused, err
}

func (p *Protection) trustedOrigin(v string) bool {
	o, ok := parseOrigin(v)
	if !ok {
		return false
	}
	for i := range p.trusted {
		if p.trusted[i].matches(o) {
			return true
		}
	}
	return false
}
